"""APScheduler triggers that know UK working days and the clock changes.

Every trigger here is a :class:`~apscheduler.triggers.base.BaseTrigger` that pickles only
its definition (with a version), so it can live in the SQLAlchemy job store and be
compared by ``borough schedules sync``.

Clock changes (Europe/London): a wall-clock time that does not exist (01:30 on the March
change day) fires once, an hour later by the clock (02:30 BST), as APScheduler's cron does.
A wall-clock time that happens twice (01:30 on the October change day) fires once, at its
first occurrence (BST): cron-based triggers skip the repeat. Interval triggers count real
elapsed time and are not changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from scheduler.calendars import WorkingCalendar

LONDON = ZoneInfo("Europe/London")
#: Interval triggers count from here, so fire times do not move when the store is synced.
INTERVAL_ANCHOR = datetime(2000, 1, 3, tzinfo=LONDON)
_STATE_VERSION = 1
_MAX_SKIPS = 5000


def to_london(moment: datetime) -> datetime:
    """The same instant on London's clock (via UTC, so a non-existent wall time is fixed)."""
    return moment.astimezone(UTC).astimezone(LONDON)


def at_local(day: date, at: time) -> datetime:
    """``at`` on ``day`` in London; a time lost to the March change falls an hour later."""
    return to_london(datetime.combine(day, at, tzinfo=LONDON))


def is_repeat(moment: datetime) -> bool:
    """True when ``moment``'s wall-clock time already happened earlier that day (October)."""
    local = to_london(moment)
    first = local.replace(tzinfo=None).replace(tzinfo=LONDON, fold=0).astimezone(UTC)
    return first < moment.astimezone(UTC)


def _start(previous: datetime | None, now: datetime) -> datetime:
    """Earliest moment the next fire may be: just after ``previous``, else ``now``."""
    if previous is None:
        return now.astimezone(UTC)
    return previous.astimezone(UTC) + timedelta(microseconds=1)


def ordinal(n: int) -> str:
    if n == -1:
        return "last"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class BoroughTrigger(BaseTrigger):  # type: ignore[misc]  # apscheduler ships no types
    """Base: a versioned ``definition`` (what sync compares) and a human description."""

    def __init__(self) -> None:
        self.definition: dict[str, Any] = {}

    def describe(self) -> str:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        return {"version": _STATE_VERSION, **self.__dict__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        version = state.pop("version", None)
        if version != _STATE_VERSION:
            raise ValueError(
                f"{type(self).__name__} saved by another borough version ({version}); "
                "run `borough schedules sync` to rebuild the schedule store"
            )
        self.__dict__.update(state)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BoroughTrigger)
            and type(self) is type(other)
            and self.definition == other.definition
        )

    def __hash__(self) -> int:
        return hash(repr(sorted(self.definition.items())))

    def __str__(self) -> str:
        return self.describe()


class FilteredTrigger(BoroughTrigger):
    """A cron or interval trigger limited to the working days of a calendar.

    Cron-based ones also fire once per wall-clock time on the October change day.
    """

    def __init__(
        self,
        inner: CronTrigger | IntervalTrigger,
        *,
        definition: dict[str, Any],
        text: str,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        super().__init__()
        self.inner = inner
        self.calendar = calendar
        self.text = text
        self.once_per_wall_time = isinstance(inner, CronTrigger)
        self.definition = {
            **definition,
            "calendar": calendar.__getstate__() if calendar else None,
        }

    @classmethod
    def cron(cls, expression: str, calendar: WorkingCalendar | None = None) -> FilteredTrigger:
        inner = CronTrigger.from_crontab(expression, timezone=LONDON)
        return cls(
            inner, definition={"cron": expression}, text=f"cron {expression}", calendar=calendar
        )

    @classmethod
    def daily(cls, at: time, calendar: WorkingCalendar | None = None) -> FilteredTrigger:
        inner = CronTrigger(hour=at.hour, minute=at.minute, second=at.second, timezone=LONDON)
        return cls(
            inner, definition={"daily": at.isoformat()}, text=f"{at:%H:%M} daily", calendar=calendar
        )

    @classmethod
    def every(
        cls,
        interval: timedelta,
        *,
        anchor: datetime = INTERVAL_ANCHOR,
        calendar: WorkingCalendar | None = None,
    ) -> FilteredTrigger:
        inner = IntervalTrigger(
            seconds=interval.total_seconds(), start_date=anchor, timezone=LONDON
        )
        definition = {"interval": interval.total_seconds(), "anchor": anchor.isoformat()}
        return cls(inner, definition=definition, text=f"every {_span(interval)}", calendar=calendar)

    def describe(self) -> str:
        if self.calendar is None:
            return self.text
        return f"{self.text.removesuffix(' daily')} on working days ({self.calendar.name})"

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        candidate = self.inner.get_next_fire_time(previous_fire_time, now)
        for _ in range(_MAX_SKIPS):
            if candidate is None:
                return None
            local = to_london(candidate)
            if self.calendar is not None and not self.calendar.is_working_day(local.date()):
                # jump to the next working day rather than walking every fire in between
                day = self.calendar.next_working_day(local.date() + timedelta(days=1))
                candidate = self.inner.get_next_fire_time(None, at_local(day, time(0)))
            elif self.once_per_wall_time and is_repeat(candidate):
                candidate = self.inner.get_next_fire_time(candidate, candidate)
            else:
                return local
        return None


class DateRuleTrigger(BoroughTrigger):
    """Fires at a wall-clock time on the dates a rule picks (one fire per date)."""

    def __init__(self, at: time, calendar: WorkingCalendar) -> None:
        super().__init__()
        self.at = at
        self.calendar = calendar

    def dates_from(self, day: date) -> Iterator[date]:
        """The rule's dates on or after ``day``, ascending."""
        raise NotImplementedError

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        start = _start(previous_fire_time, now)
        first_day = start.astimezone(LONDON).date() - timedelta(days=1)
        for day in self.dates_from(first_day):
            moment = at_local(day, self.at)
            if moment >= start:
                return moment
        return None


class WorkingDayOfMonthTrigger(DateRuleTrigger):
    """The n-th working day of every month (``n = -1``: the last), at a time."""

    def __init__(self, n: int, at: time, calendar: WorkingCalendar) -> None:
        super().__init__(at, calendar)
        if n == 0 or not -23 <= n <= 23:
            raise ValueError("working_day must be 1..23 or -1 (the last working day)")
        self.n = n
        self.definition = {
            "working_day_of_month": n,
            "at": at.isoformat(),
            "calendar": calendar.__getstate__(),
        }

    def describe(self) -> str:
        return (
            f"{ordinal(self.n)} working day of the month at {self.at:%H:%M} ({self.calendar.name})"
        )

    def dates_from(self, day: date) -> Iterator[date]:
        year, month = day.year, day.month
        for _ in range(24 * 10):
            found = self.calendar.working_day_of_month(year, month, self.n)
            if found is not None and found >= day:
                yield found
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


class AfterBankHolidayTrigger(DateRuleTrigger):
    """The n-th working day after each bank holiday of the calendar's region, at a time.

    Holidays that share a day off (Good Friday and Easter Monday) give one fire, not two.
    """

    def __init__(self, n: int, at: time, calendar: WorkingCalendar) -> None:
        super().__init__(at, calendar)
        if not 1 <= n <= 20:
            raise ValueError("working_day must be 1..20")
        self.n = n
        self.definition = {
            "after_bank_holiday": n,
            "at": at.isoformat(),
            "calendar": calendar.__getstate__(),
        }

    def describe(self) -> str:
        return (
            f"{ordinal(self.n)} working day after each bank holiday at {self.at:%H:%M} "
            f"({self.calendar.name})"
        )

    def dates_from(self, day: date) -> Iterator[date]:
        # a holiday up to ~n+14 days before `day` can still land on or after it
        start = day - timedelta(days=self.n * 3 + 14)
        for _ in range(10):
            end = start + timedelta(days=366)
            hits = {
                self.calendar.nth_working_day_after(h, self.n)
                for h in self.calendar.holidays_between(start, end)
            }
            yield from sorted(d for d in hits if d >= day)
            day = max(day, end + timedelta(days=1))
            start = end + timedelta(days=1)


def fire_times(
    trigger: BaseTrigger, first: datetime, last: datetime, *, limit: int = 100_000
) -> list[datetime]:
    """Every fire time from ``first`` (itself a fire time) to ``last``, both inclusive."""
    times: list[datetime] = []
    current: datetime | None = first
    stop = last.astimezone(UTC)
    while current is not None and current.astimezone(UTC) <= stop and len(times) < limit:
        times.append(current)
        current = trigger.get_next_fire_time(current, last)
    return times


def upcoming(trigger: BaseTrigger, now: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times after ``now`` (for `schedules list` and tests)."""
    result: list[datetime] = []
    current = trigger.get_next_fire_time(None, now)
    while current is not None and len(result) < count:
        result.append(current)
        current = trigger.get_next_fire_time(current, current)
    return result


def _span(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}s" if count != 1 else unit
    return f"{seconds} seconds"
