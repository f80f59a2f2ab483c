"""queue: and after: triggers, polled by hand: once per condition, within the window,
audited; and the window itself."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import time_machine

from borough.audit.reading import iter_records
from borough.ledger import RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import runtime_in
from scheduler.calendars import WorkingCalendar
from scheduler.config import load_schedules
from scheduler.events.book import EventBook
from scheduler.events.loop import make_watch
from scheduler.events.window import Window
from scheduler.firing import FireBook
from scheduler.seats import SeatBook
from scheduler.triggers import LONDON
from tests.support.events import events_home, rows_csv

ENGLAND = WorkingCalendar("england", "england-and-wales")


def coming_weekend() -> tuple[datetime, datetime]:
    """10:00 on a coming Saturday, and on the Monday after it (a working day)."""
    day = datetime.now(LONDON).date() + timedelta(days=1)
    while day.weekday() != 5 or not ENGLAND.is_working_day(day + timedelta(days=2)):
        day += timedelta(days=1)
    saturday = datetime.combine(day, time(10), tzinfo=LONDON)
    return saturday, saturday + timedelta(days=2)


@contextmanager
def watching(home: Path, name: str):
    with runtime_in(home) as runtime:
        schedules = load_schedules(runtime.config)
        seats = SeatBook(runtime.config)
        fires = FireBook(runtime.config, runtime.ledger, runtime.trail, schedules, seats)
        book = EventBook(
            runtime.config,
            runtime.ledger,
            runtime.trail,
            schedules,
            seats,
            bot_version=fires.bot_version,
        )
        yield runtime, make_watch(name, schedules.triggers[name], book, home)


def fired(home: Path) -> list[dict]:
    return [r for r in iter_records(home / "logs/audit") if r["action"].startswith("trigger.")]


def pending_items(runtime, home: Path, count: int) -> None:
    (home / "var/rows.csv").write_bytes(rows_csv(list(range(1, count + 1))))
    run_bot(runtime, RunRequest("counting-bot", inputs={"csv": "var/rows.csv"}, limit=0))


def finish(runtime, run_id: str) -> None:
    runtime.ledger.runs.finish(run_id, RunStatus.SUCCEEDED)


def test_window_waits_for_the_next_working_hours():
    window = Window(ENGLAND, time(8), time(18))
    saturday, monday = coming_weekend()
    assert window.is_open(monday)
    assert not window.is_open(saturday) and not window.is_open(monday.replace(hour=7))
    assert window.next_open(saturday) == monday.replace(hour=8)
    assert window.next_open(monday.replace(hour=19)) == monday.replace(hour=8) + timedelta(days=1)
    christmas_eve = datetime(2026, 12, 24, 18, 30, tzinfo=LONDON)  # Thu; Fri 25 and Mon 28 off
    assert window.next_open(christmas_eve) == datetime(2026, 12, 29, 8, 0, tzinfo=LONDON)
    assert "bank holiday" in (window.why_closed(christmas_eve.replace(day=28)) or "")


def test_queue_trigger_fires_once_per_condition_within_its_window(tmp_path: Path):
    home = events_home(
        tmp_path,
        {
            "backlog": {
                "bot": "counting-bot",
                "queue": {"pending": 5},
                "calendar": "england-and-wales",
                "debounce_seconds": 60,
            }
        },
    )
    saturday, monday = coming_weekend()
    with watching(home, "backlog") as (runtime, watch):
        runs = runtime.ledger.runs
        pending_items(runtime, home, 4)
        watch.poll(monday)
        watch.poll(monday + timedelta(minutes=5))
        assert runs.list(schedule="backlog") == [], "4 due items: not yet"
        pending_items(runtime, home, 6)  # rows 1-4 again (already recorded) and 5, 6
        watch.poll(saturday)
        watch.poll(saturday + timedelta(seconds=61))
        watch.poll(saturday + timedelta(hours=1))
        assert runs.list(schedule="backlog") == [], "a Saturday: it waits"
        deferred = [r for r in fired(home) if r["action"] == "trigger.deferred"]
        assert len(deferred) == 1 and "Saturday" in deferred[0]["detail"]["why"]
        assert deferred[0]["detail"]["why"].endswith(f"{monday:%a %d %b %Y} 00:00")
        watch.poll(monday)  # held since Saturday, past its debounce: fires at the opening
        watch.poll(monday + timedelta(minutes=30))
        [run] = runs.list(schedule="backlog")
        assert run.status is RunStatus.QUEUED and run.trigger == "event:queue:backlog"
        assert run.detail["event"]["due_pending"] == 6
        # ended without working them (the condition still holds), inside the working window
        # whatever day the suite runs on
        with time_machine.travel(monday + timedelta(minutes=31), tick=False):
            finish(runtime, run.id)
        ended = runs.get(run.id).ended_at
        watch.poll(ended + timedelta(seconds=1))
        watch.poll(ended + timedelta(seconds=45))
        assert len(runs.list(schedule="backlog")) == 1, "holds again, but for under a minute"
        watch.poll(ended + timedelta(seconds=62))
        assert len(runs.list(schedule="backlog")) == 2, "a new occurrence"
    records = [r for r in fired(home) if r["action"] == "trigger.fired"]
    assert len(records) == 2 and all(r["outcome"] == "queued" for r in records)


def test_after_trigger_starts_once_per_upstream_run_and_gathers_ends_while_busy(tmp_path: Path):
    home = events_home(
        tmp_path,
        {"chain": {"bot": "sleepy-a", "after": {"bot": "counting-bot", "succeeded_only": True}}},
        bots={"counting-bot": {}, "sleepy-a": {}},
    )
    with watching(home, "chain") as (runtime, watch):
        runs = runtime.ledger.runs
        before = runs.create("counting-bot", "1", status=RunStatus.SUCCEEDED)
        now = datetime.now(UTC)
        watch.poll(now)
        assert runs.list(schedule="chain") == [], "ends before the trigger was armed do not count"
        first = runs.create("counting-bot", "1", status=RunStatus.SUCCEEDED)
        failed = runs.create("counting-bot", "1", status=RunStatus.FAILED)
        watch.poll(datetime.now(UTC))
        watch.poll(datetime.now(UTC))
        [one] = runs.list(schedule="chain")
        assert one.detail["event"]["runs"] == [first.id] and one.trigger == "event:after:chain"
        second = runs.create("counting-bot", "1", status=RunStatus.SUCCEEDED)
        third = runs.create("counting-bot", "1", status=RunStatus.SUCCEEDED)
        watch.poll(datetime.now(UTC))
        assert len(runs.list(schedule="chain")) == 1, "its run is still queued"
        finish(runtime, one.id)
        watch.poll(datetime.now(UTC))
        two = runs.list(schedule="chain")[0]
        assert two.id != one.id and two.detail["event"]["runs"] == [second.id, third.id]
        watch.poll(datetime.now(UTC))
        assert len(runs.list(schedule="chain")) == 2
        assert before.id not in str(runs.list(schedule="chain")) and failed.id
