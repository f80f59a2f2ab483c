"""UK working-day calendars against the real 2025-2027 bank holidays of all three regions."""

from __future__ import annotations

import pickle
from datetime import date

import pytest

from scheduler.calendars import AnnualClosure, WorkingCalendar


def d(text: str) -> date:
    return date.fromisoformat(text)


# Weekday bank holidays as published on gov.uk/bank-holidays (days off work).
EXPECTED = {
    "england-and-wales": {
        2025: ["2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26",
               "2025-08-25", "2025-12-25", "2025-12-26"],
        2026: ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25",
               "2026-08-31", "2026-12-25", "2026-12-28"],
        2027: ["2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31",
               "2027-08-30", "2027-12-27", "2027-12-28"],
    },
    "scotland": {
        2025: ["2025-01-01", "2025-01-02", "2025-04-18", "2025-05-05", "2025-05-26",
               "2025-08-04", "2025-12-01", "2025-12-25", "2025-12-26"],
        # 15 June 2026: the one-off holiday for Scotland's World Cup match (in the data)
        2026: ["2026-01-01", "2026-01-02", "2026-04-03", "2026-05-04", "2026-05-25",
               "2026-06-15", "2026-08-03", "2026-11-30", "2026-12-25", "2026-12-28"],
        2027: ["2027-01-01", "2027-01-04", "2027-03-26", "2027-05-03", "2027-05-31",
               "2027-08-02", "2027-11-30", "2027-12-27", "2027-12-28"],
    },
    "northern-ireland": {
        2025: ["2025-01-01", "2025-03-17", "2025-04-18", "2025-04-21", "2025-05-05",
               "2025-05-26", "2025-07-14", "2025-08-25", "2025-12-25", "2025-12-26"],
        2026: ["2026-01-01", "2026-03-17", "2026-04-03", "2026-04-06", "2026-05-04",
               "2026-05-25", "2026-07-13", "2026-08-31", "2026-12-25", "2026-12-28"],
        2027: ["2027-01-01", "2027-03-17", "2027-03-26", "2027-03-29", "2027-05-03",
               "2027-05-31", "2027-07-12", "2027-08-30", "2027-12-27", "2027-12-28"],
    },
}  # fmt: skip


@pytest.mark.parametrize("region", sorted(EXPECTED))
@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_weekday_bank_holidays_match_the_published_dates(region: str, year: int):
    calendar = WorkingCalendar(region, region)
    assert calendar.bank_holidays(year) == [d(x) for x in EXPECTED[region][year]]


@pytest.mark.parametrize("region", sorted(EXPECTED))
@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_working_days_are_weekdays_that_are_not_bank_holidays(region: str, year: int):
    calendar = WorkingCalendar(region, region)
    holidays = {d(x) for x in EXPECTED[region][year]}
    day = date(year, 1, 1)
    working = 0
    while day.year == year:
        expected = day.weekday() < 5 and day not in holidays
        assert calendar.is_working_day(day) is expected, day
        working += expected
        day = date.fromordinal(day.toordinal() + 1)
    weekdays = sum(
        1
        for n in range(date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal())
        if date.fromordinal(n).weekday() < 5
    )
    assert working == weekdays - len(holidays)


def test_weekend_dated_holidays_and_their_substitute_days():
    ew = WorkingCalendar("e", "england-and-wales")
    assert ew.bank_holiday(d("2026-12-26")) == "Boxing Day"  # a Saturday, in the data
    assert ew.why_not_working(d("2026-12-26")) == "Saturday"
    assert ew.why_not_working(d("2026-12-28")) == "bank holiday (Boxing Day (observed))"
    ni = WorkingCalendar("n", "northern-ireland")
    assert not ni.is_working_day(d("2026-07-13"))  # Boyne substitute for Sunday 12th
    assert ni.is_working_day(d("2026-07-14"))


def test_regions_differ_where_they_should():
    ew = WorkingCalendar("e", "england-and-wales")
    sc = WorkingCalendar("s", "scotland")
    ni = WorkingCalendar("n", "northern-ireland")
    easter_monday = d("2026-04-06")
    assert not ew.is_working_day(easter_monday) and sc.is_working_day(easter_monday)
    assert ew.is_working_day(d("2026-08-03")) and not sc.is_working_day(d("2026-08-03"))
    assert ew.is_working_day(d("2026-03-17")) and not ni.is_working_day(d("2026-03-17"))
    assert ew.is_working_day(d("2026-01-02")) and not sc.is_working_day(d("2026-01-02"))


def test_council_closures_dates_and_an_annual_range_over_new_year():
    calendar = WorkingCalendar(
        "council",
        "england-and-wales",
        closures=frozenset({d("2026-06-01")}),
        annual=(AnnualClosure((12, 29), (1, 2)),),
    )
    assert calendar.why_not_working(d("2026-06-01")) == "council closure day"
    for text in ("2026-12-29", "2026-12-30", "2026-12-31", "2027-01-01", "2027-01-02"):
        assert not calendar.is_working_day(d(text)), text
    # after Christmas 2026 the council is next open on Monday 4 January 2027
    assert calendar.next_working_day(d("2026-12-24")) == d("2026-12-24")
    assert calendar.nth_working_day_after(d("2026-12-24"), 1) == d("2027-01-04")
    assert calendar.working_day_of_month(2026, 12, -1) == d("2026-12-24")


def test_nth_and_last_working_day_of_the_month():
    ew = WorkingCalendar("e", "england-and-wales")
    assert ew.working_day_of_month(2026, 1, 1) == d("2026-01-02")
    assert ew.working_day_of_month(2026, 4, 1) == d("2026-04-01")
    assert ew.working_day_of_month(2026, 4, 3) == d("2026-04-07")  # Good Friday, Easter Monday
    assert ew.working_day_of_month(2026, 8, -1) == d("2026-08-28")  # 31st is a bank holiday
    assert ew.working_day_of_month(2027, 12, -1) == d("2027-12-31")
    assert ew.working_day_of_month(2026, 5, 30) is None


def test_calendar_pickles_its_definition_only_and_refuses_unknown_versions():
    calendar = WorkingCalendar(
        "council", "scotland", frozenset({d("2026-06-01")}), (AnnualClosure((12, 27), (12, 31)),)
    )
    calendar.is_working_day(d("2026-01-02"))  # loads holiday data into the instance
    data = pickle.dumps(calendar)
    assert b"Saint Andrew" not in data
    copy = pickle.loads(data)
    assert copy == calendar
    assert not copy.is_working_day(d("2026-11-30"))
    state = calendar.__getstate__()
    state["version"] = 99
    with pytest.raises(ValueError, match="newer borough"):
        WorkingCalendar.__new__(WorkingCalendar).__setstate__(state)


def test_unknown_region_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="england-and-wales"):
        WorkingCalendar("x", "cornwall")
