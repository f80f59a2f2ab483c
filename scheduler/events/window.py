"""When an event trigger may start a run: its calendar's working days, within its hours.

An event outside the window is not dropped: it waits (files stay in the drop folder,
queue conditions keep holding, run ends keep accumulating) and starts a run at the next
opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from scheduler.calendars import WorkingCalendar
from scheduler.triggers import LONDON

_LOOK_AHEAD_DAYS = 400


@dataclass(frozen=True)
class Window:
    calendar: WorkingCalendar | None = None
    start: time | None = None
    end: time | None = None

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(LONDON)
        if self.calendar is not None and not self.calendar.is_working_day(local.date()):
            return False
        if self.start is not None and self.end is not None:
            return self.start <= local.time() < self.end
        return True

    def why_closed(self, now: datetime) -> str | None:
        """None when open, else what an operator should read (the reason, next opening)."""
        if self.is_open(now):
            return None
        local = now.astimezone(LONDON)
        reason = "outside working hours"
        if self.calendar is not None:
            reason = self.calendar.why_not_working(local.date()) or reason
        return f"{reason}; waits until {self.next_open(now):%a %d %b %Y %H:%M}"

    def next_open(self, now: datetime) -> datetime:
        """The next moment (UK local) the window opens, ``now`` itself if it is open."""
        local = now.astimezone(LONDON)
        if self.is_open(local):
            return local
        day = local.date()
        for _ in range(_LOOK_AHEAD_DAYS):
            if self.calendar is None or self.calendar.is_working_day(day):
                opening = datetime.combine(day, self.start or time(0), tzinfo=LONDON)
                if opening > local:
                    return opening
                if day == local.date() and self.end is not None and local.time() < self.end:
                    return local
            day += timedelta(days=1)
        return local + timedelta(days=_LOOK_AHEAD_DAYS)
