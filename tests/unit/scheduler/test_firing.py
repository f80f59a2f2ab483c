"""The fire book: every due fire ends in the ledger exactly once, as a run or as MISSED."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from borough.audit.reading import iter_records
from borough.ledger import RunStatus
from borough.testing import runtime_in
from scheduler.config import load_schedules
from scheduler.firing import MISSED_ROWS, FireBook
from scheduler.seats import SeatBook
from tests.support.scheduling import scheduler_home

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EVERY = timedelta(seconds=10)


@pytest.fixture
def book(tmp_path: Path) -> Iterator[FireBook]:
    home = scheduler_home(
        tmp_path,
        {
            "tick": {"bot": "sleepy-a", "interval": {"seconds": 10}, "misfire_grace_seconds": 30},
            "wide": {"bot": "sleepy-a", "interval": {"seconds": 10}, "runs": 3},
            "skipper": {
                "bot": "sleepy-b",
                "interval": {"seconds": 10},
                "misfire_grace_seconds": 30,
                "on_missed": "skip",
                "priority": 8,
                "max_run_minutes": 2,
            },
        },
    )
    with runtime_in(home) as runtime:
        schedules = load_schedules(runtime.config)
        yield FireBook(
            runtime.config,
            runtime.ledger,
            runtime.trail.bind(actor="scheduler"),
            schedules,
            SeatBook(runtime.config),
        )


def due(book: FireBook, name: str, first: datetime, last: datetime, now: datetime):
    trigger = book.schedules.trigger(name)
    bot = book.schedules.entries[name].bot
    return book.on_due(name, bot, trigger, first, last, now=now)


def by_fire(book: FireBook, name: str) -> dict[datetime, list[RunStatus]]:
    result: dict[datetime, list[RunStatus]] = {}
    for run in book.ledger.runs.list(schedule=name, limit=1000):
        result.setdefault(run.fire_time, []).append(run.status)
    return result


def test_an_on_time_fire_queues_one_run_with_what_it_needs(book: FireBook):
    report = due(book, "skipper", T0, T0, T0 + timedelta(seconds=1))
    [run] = report.queued
    assert report.missed == []
    assert run.status is RunStatus.QUEUED and run.fire_time == T0
    assert run.trigger == "schedule:skipper" and run.bot == "sleepy-b"
    assert run.bot_version == "1.0.0"
    assert run.detail["priority"] == 8 and run.detail["max_run_seconds"] == 120
    assert run.detail["apps"] == ["counting"] and "catch_up" not in run.detail
    fired = [r for r in iter_records(book.config.paths.audit) if r["action"] == "schedule.fired"]
    assert [r["run_id"] for r in fired] == [run.id]


def test_late_fires_are_missed_and_run_once_runs_exactly_once(book: FireBook):
    last = T0 + 4 * EVERY
    report = due(book, "tick", T0, last, last + timedelta(seconds=100))
    assert [r.fire_time for r in report.missed] == [T0 + i * EVERY for i in range(4)]
    assert all(r.status is RunStatus.MISSED for r in report.missed)
    assert "not running or was busy" in (report.missed[0].error or "")
    [run] = report.queued
    assert run.fire_time == last and run.detail["catch_up"] is True
    assert run.detail["late_seconds"] == 100 and run.detail["covers_missed"] == 5
    # the same fires offered again (a crash before the store was updated) change nothing
    again = due(book, "tick", T0, last, last + timedelta(seconds=101))
    assert again.queued == [] and again.missed == []
    assert all(len(statuses) == 1 for statuses in by_fire(book, "tick").values())


def test_skip_records_every_late_fire_as_missed(book: FireBook):
    last = T0 + 2 * EVERY
    report = due(book, "skipper", T0, last, last + timedelta(minutes=5))
    assert report.queued == []
    assert [r.fire_time for r in report.missed] == [T0, T0 + EVERY, last]
    assert "on_missed: skip" in (report.missed[-1].error or "")
    missed = [r for r in iter_records(book.config.paths.audit) if r["action"] == "schedule.missed"]
    assert len(missed) == 3 and all(r["outcome"] == "missed" for r in missed)


def test_fires_coalesced_within_the_grace_are_recorded_too(book: FireBook):
    report = due(book, "tick", T0, T0 + 2 * EVERY, T0 + 2 * EVERY + timedelta(seconds=1))
    assert [r.fire_time for r in report.queued] == [T0 + 2 * EVERY]
    assert [r.error for r in report.missed] == [
        "coalesced with a later fire of the same schedule"
    ] * 2


def test_a_fire_while_the_previous_run_is_busy_is_missed_not_queued(book: FireBook):
    first = due(book, "tick", T0, T0, T0).queued[0]
    report = due(book, "tick", T0 + EVERY, T0 + EVERY, T0 + EVERY)
    assert report.queued == []
    assert report.missed[0].error == f"the previous run {first.id} was still queued"
    book.ledger.runs.start(first.id)
    book.ledger.runs.finish(first.id, RunStatus.SUCCEEDED)
    assert len(due(book, "tick", T0 + 2 * EVERY, T0 + 2 * EVERY, T0 + 2 * EVERY).queued) == 1


def test_a_long_outage_is_summarised_after_fifty_rows(book: FireBook):
    last = T0 + 199 * EVERY
    report = due(book, "skipper", T0, last, last + timedelta(hours=1))
    older, latest = report.missed[:-1], report.missed[-1]
    assert len(older) == MISSED_ROWS and latest.fire_time == last
    summary = older[0]
    assert summary.detail["missed_count"] == 199 - (MISSED_ROWS - 1)
    assert summary.fire_time == T0 + (199 - MISSED_ROWS) * EVERY
    assert [r.fire_time for r in older[1:]] == [
        T0 + i * EVERY for i in range(199 - MISSED_ROWS + 1, 199)
    ]


def test_a_schedule_removed_from_the_file_has_its_due_fires_missed(book: FireBook):
    trigger = book.schedules.trigger("tick")
    report = book.on_due("gone", "sleepy-a", trigger, T0, T0 + EVERY, now=T0 + EVERY)
    assert [r.error for r in report.missed] == ["schedule is no longer in schedules.yaml"] * 2


def test_run_now_queues_a_run_named_for_the_operator(book: FireBook):
    run = book.run_now("tick", "user:alice")
    assert run.status is RunStatus.QUEUED and run.trigger == "run-now:user:alice"
    assert run.schedule == "tick"
    [record] = [
        r for r in iter_records(book.config.paths.audit) if r["action"] == "schedule.run_now"
    ]
    assert record["actor"] == "user:alice" and record["run_id"] == run.id


def test_runs_n_queues_n_runs_of_one_fire_and_the_fire_is_recorded_once(book: FireBook):
    report = due(book, "wide", T0, T0, T0 + timedelta(seconds=1))
    [lead] = report.queued
    queued = book.ledger.runs.list(schedule="wide", statuses=[RunStatus.QUEUED])
    parts = [run for run in queued if run.id != lead.id]
    assert len(queued) == 3 and lead.trigger == "schedule:wide"
    assert {run.trigger for run in parts} == {f"part:{lead.id}"}
    assert sorted(run.detail["part"] for run in parts) == [2, 3]
    assert all(run.fire_time == T0 and run.detail["lead"] == lead.id for run in parts)
    assert book.last_fire("wide") == T0
    again = due(book, "wide", T0, T0, T0 + timedelta(seconds=2))  # re-offered after a crash
    assert again.queued == [] and len(book.ledger.runs.list(schedule="wide")) == 3
    records = [r for r in iter_records(book.config.paths.audit) if r["action"] == "run.queued"]
    assert {r["run_id"] for r in records} == {run.id for run in parts}


def test_run_now_of_a_wide_schedule_queues_its_parts_too(book: FireBook):
    lead = book.run_now("wide", "user:alice")
    queued = book.ledger.runs.list(schedule="wide", statuses=[RunStatus.QUEUED])
    assert sorted(run.trigger for run in queued) == sorted(
        [f"part:{lead.id}", f"part:{lead.id}", "run-now:user:alice"]
    )


def test_two_schedulers_that_both_think_they_are_active_record_a_fire_once(book: FireBook):
    """A split brain (one lost its lock without knowing): each fire book has its own
    cache of the last fire, so only the ledger can refuse the second record."""
    other = FireBook(book.config, book.ledger, book.trail, book.schedules, book.seats)
    assert other.last_fire("wide") is None and book.last_fire("skipper") is None  # cached
    first = due(book, "wide", T0, T0, T0 + timedelta(seconds=1))
    second = due(other, "wide", T0, T0, T0 + timedelta(seconds=1))
    late = T0 + 4 * EVERY  # the other records the late ones; the first cannot record them again
    due(other, "skipper", T0, late, late + timedelta(seconds=100))
    again = due(book, "skipper", T0, late, late + timedelta(seconds=100))
    assert len(first.queued) == 1 and second.queued == [] and again.missed == []
    assert by_fire(book, "wide") == {T0: [RunStatus.QUEUED] * 3}  # the fire and its 2 parts
    assert all(statuses == [RunStatus.MISSED] for statuses in by_fire(book, "skipper").values())
    fired = [r for r in iter_records(book.config.paths.audit) if r["action"] == "schedule.fired"]
    assert len(fired) == 1
