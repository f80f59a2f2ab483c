"""UK working-day calendars: bank holidays per region (``holidays``) plus council closures.

A working day is Monday to Friday, not a bank holiday of the region and not a closure
day. The ``holidays`` data lists weekend-dated holidays *and* their observed Monday, so
weekends are excluded here, never trusted to the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any

import holidays

#: Region names accepted in config, mapped to the ``holidays`` UK subdivision.
REGIONS: Mapping[str, str] = {
    "england-and-wales": "ENG",
    "england": "ENG",
    "wales": "WLS",
    "scotland": "SCT",
    "northern-ireland": "NIR",
}

#: Calendars every installation has, named by region.
BUILTIN = ("england-and-wales", "scotland", "northern-ireland")

_SEARCH_DAYS = 400  # a year and a bit: any rule finds its day within this


@dataclass(frozen=True)
class AnnualClosure:
    """A closure repeated every year, e.g. 27 Dec to 31 Dec (may wrap the new year)."""

    start: tuple[int, int]  # (month, day)
    end: tuple[int, int]

    def covers(self, day: date) -> bool:
        here = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= here <= self.end
        return here >= self.start or here <= self.end


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days of one region, less the council's own closure days.

    Picklable and small: only the definition is pickled; holiday data is rebuilt on load,
    so triggers that hold a calendar can live in the APScheduler job store.
    """

    name: str
    region: str = "england-and-wales"
    closures: frozenset[date] = field(default_factory=frozenset)
    annual: tuple[AnnualClosure, ...] = ()

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(
                f"unknown region {self.region!r}; use one of: {', '.join(sorted(REGIONS))}"
            )

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        # subdiv matters: without it the data has no Easter Monday and no August holiday
        return holidays.country_holidays("GB", subdiv=REGIONS[self.region])

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "name": self.name,
            "region": self.region,
            "closures": sorted(self.closures),
            "annual": [(a.start, a.end) for a in self.annual],
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("version") != 1:
            raise ValueError(
                f"calendar saved by a newer borough (version {state.get('version')}); "
                "upgrade borough or run `borough schedules sync`"
            )
        object.__setattr__(self, "name", state["name"])
        object.__setattr__(self, "region", state["region"])
        object.__setattr__(self, "closures", frozenset(state["closures"]))
        annual = tuple(AnnualClosure((s[0], s[1]), (e[0], e[1])) for s, e in state["annual"])
        object.__setattr__(self, "annual", annual)

    def _load(self, year: int) -> None:
        date(year, 1, 1) in self._holidays  # noqa: B015 - asking for a date loads its year

    # -- questions ---------------------------------------------------------------------
    def bank_holiday(self, day: date) -> str | None:
        """The holiday's name if ``day`` is a bank holiday of the region (weekends too)."""
        name = self._holidays.get(day)
        return None if name is None else str(name)

    def closure(self, day: date) -> bool:
        return day in self.closures or any(a.covers(day) for a in self.annual)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and self.bank_holiday(day) is None and not self.closure(day)

    def why_not_working(self, day: date) -> str | None:
        """``None`` on a working day, else the reason an operator would want to see."""
        if day.weekday() >= 5:
            return day.strftime("%A")
        holiday = self.bank_holiday(day)
        if holiday is not None:
            return f"bank holiday ({holiday})"
        if self.closure(day):
            return "council closure day"
        return None

    def bank_holidays(self, year: int) -> list[date]:
        """Bank holidays of the region falling on weekdays in ``year`` (the days off)."""
        self._load(year)
        return sorted(d for d in self._holidays if d.year == year and d.weekday() < 5)

    # -- walking -----------------------------------------------------------------------
    def working_days(self, start: date, *, stop: date | None = None) -> Iterator[date]:
        """Working days from ``start`` (inclusive), ascending; ends at ``stop`` if given."""
        day = start
        limit = stop or start + timedelta(days=_SEARCH_DAYS * 10)
        while day <= limit:
            if self.is_working_day(day):
                yield day
            day += timedelta(days=1)

    def next_working_day(self, day: date) -> date:
        """The first working day on or after ``day``."""
        return next(self.working_days(day))

    def nth_working_day_after(self, day: date, n: int) -> date:
        """The ``n``-th working day strictly after ``day`` (n >= 1)."""
        days = self.working_days(day + timedelta(days=1))
        for _ in range(n - 1):
            next(days)
        return next(days)

    def working_day_of_month(self, year: int, month: int, n: int) -> date | None:
        """The ``n``-th working day of the month (``-1`` = the last); ``None`` if none."""
        first = date(year, month, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        days = list(self.working_days(first, stop=last))
        index = n - 1 if n > 0 else n
        if -len(days) <= index < len(days):
            return days[index]
        return None

    def holidays_between(self, start: date, end: date) -> Iterable[date]:
        """Bank-holiday dates (weekends included) from ``start`` to ``end`` inclusive."""
        for year in range(start.year, end.year + 1):
            self._load(year)
        return sorted(d for d in self._holidays if start <= d <= end)


def parse_month_day(text: str) -> tuple[int, int]:
    """``"12-27"`` → (12, 27), checked against a leap year so 29 Feb is allowed."""
    month, _, day = text.partition("-")
    try:
        value = date(2024, int(month), int(day))
    except ValueError:
        raise ValueError(f"{text!r} is not a month-day like 12-27") from None
    return (value.month, value.day)
