"""`borough schedules sync` (and pause) with no scheduler running: they change the store,
never fire; sync says truthfully what changed and takes bot configs and seat limits afresh."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from borough.ledger import RunStatus
from borough.runtime import Runtime
from borough.testing import COUNTING_KIND, runtime_in
from scheduler import firing, jobs
from scheduler.operate import Operator
from scheduler.requests import Request
from scheduler.service import SchedulerService
from scheduler.store import ScheduleStore, read_jobs
from scheduler.triggers import LONDON
from tests.support.scheduling import scheduler_home

GRACE = 120


class ShiftedClock(datetime):
    """``datetime`` whose ``now()`` runs ``offset`` ahead: "minutes later" without sleeping."""

    offset = timedelta()

    @classmethod
    def now(cls, tz: Any = None) -> ShiftedClock:  # type: ignore[override]
        moment = datetime.now(tz) + cls.offset
        return cls.fromtimestamp(moment.timestamp(), tz)


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> type[ShiftedClock]:
    """Move the scheduler's clock (catch-up and the fire book) forward by setting ``offset``."""
    ShiftedClock.offset = timedelta()
    monkeypatch.setattr(jobs, "datetime", ShiftedClock)
    monkeypatch.setattr(firing, "datetime", ShiftedClock)
    return ShiftedClock


def schedules_of(home: Path) -> dict[str, Any]:
    return yaml.safe_load((home / "config/schedules.yaml").read_text())


def rewrite(home: Path, change) -> None:
    document = schedules_of(home)
    change(document)
    (home / "config/schedules.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.fixture
def fired() -> datetime:
    """The schedule's interval counts from here, so it fired this long ago (inside its grace).
    Taken per test, not at import: in a long suite an import-time moment is many intervals old."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)


@pytest.fixture
def home(tmp_path: Path, fired: datetime) -> Path:
    start = fired.astimezone(LONDON).replace(tzinfo=None).isoformat()
    return scheduler_home(
        tmp_path,
        {
            "tick": {
                "bot": "sleepy-a",
                "interval": {"minutes": 10, "start": start},
                "misfire_grace_seconds": GRACE,
                "on_missed": "skip",
            },
        },
        extra={"calendars": {"council": {"region": "england", "closures": ["2026-12-29"]}}},
    )


@pytest.fixture
def runtime(home: Path) -> Iterator[Runtime]:
    with runtime_in(home) as runtime:
        yield runtime


def make_due(runtime: Runtime, name: str, fired: datetime) -> datetime:
    """Put ``name``'s stored next fire back to ``fired``, its fire time 30 s ago, as if no
    scheduler had run since; returns it."""
    service = SchedulerService(runtime)
    store = ScheduleStore(service.engine, lambda job, times: None)
    store.start()
    try:
        store.set_next_fire(name, fired)
    finally:
        store.shutdown()
        service.engine.dispose()
    return fired


def test_sync_without_a_scheduler_queues_nothing_and_a_later_start_reports_the_miss(
    home: Path, runtime: Runtime, later, fired: datetime
):
    Operator(runtime, actor="user:setup").sync()
    due = make_due(runtime, "tick", fired)  # inside the grace window
    rewrite(home, lambda d: d["schedules"].update({"other": {"bot": "sleepy-b", "daily": "23:59"}}))

    answer = Operator(runtime, actor="user:olivia").sync()

    assert answer.startswith("1 added, 0 changed, 0 removed, 1 unchanged")
    assert runtime.ledger.runs.list(schedule="tick") == []  # nothing queued, nothing recorded
    assert read_jobs(SchedulerService(runtime).engine)["tick"].next_fire == due  # left due

    later.offset = timedelta(minutes=5)  # a scheduler starts minutes later, past the grace
    service = SchedulerService(runtime)
    report = service.start()
    try:
        assert [(r.schedule, r.fire_time, r.status) for r in report.missed] == [
            ("tick", due, RunStatus.MISSED)
        ]
        assert report.caught_up == []
        assert "on_missed: skip" in (report.missed[0].error or "")
        assert runtime.ledger.runs.list(statuses=[RunStatus.QUEUED]) == []
    finally:
        service.stop()


def test_sync_of_a_changed_schedule_records_its_missed_fires_under_the_old_trigger(
    home: Path, runtime: Runtime, fired: datetime
):
    Operator(runtime, actor="user:setup").sync()
    due = make_due(runtime, "tick", fired)
    rewrite(home, lambda d: d["schedules"]["tick"].update({"interval": {"minutes": 15}}))

    answer = Operator(runtime, actor="user:olivia").sync()

    assert "1 changed" in answer and "1 missed fire(s) of changed schedules recorded" in answer
    [missed] = runtime.ledger.runs.list(schedule="tick")
    assert (missed.status, missed.fire_time) == (RunStatus.MISSED, due)
    assert "no scheduler was running" in (missed.error or "")
    assert runtime.ledger.runs.list(statuses=[RunStatus.QUEUED]) == []


def test_pause_without_a_scheduler_records_due_fires_as_missed_and_queues_nothing(
    runtime: Runtime, fired: datetime
):
    Operator(runtime, actor="user:setup").sync()
    due = make_due(runtime, "tick", fired)

    assert "tick paused" in Operator(runtime, actor="user:olivia").pause("tick")

    [missed] = runtime.ledger.runs.list(schedule="tick")
    assert (missed.status, missed.fire_time) == (RunStatus.MISSED, due)
    assert "paused before one started" in (missed.error or "")


def test_sync_reports_every_changed_field(home: Path, runtime: Runtime):
    rewrite(home, lambda d: d["schedules"]["tick"].update({"calendar": "council"}))
    Operator(runtime, actor="user:setup").sync()

    def edit(document: dict[str, Any]) -> None:
        tick = document["schedules"]["tick"]
        tick.update(priority=8, max_run_minutes=45, description="every ten minutes", runs=3)
        document["calendars"]["council"]["closures"].append("2026-12-30")

    rewrite(home, edit)
    apps = home / "config/apps.yaml"
    apps.write_text(
        apps.read_text().replace(COUNTING_KIND, f"{COUNTING_KIND}\n    max_sessions: 2")
    )

    plan = Operator(runtime, actor="user:olivia").plan()

    assert plan.changed == ["tick"]
    detail = plan.details["tick"]
    for expected in (
        "calendar council closures added 30 Dec 2026",
        "priority 5 -> 8",
        "max run minutes 120 -> 45",
        "description none -> every ten minutes",
        'licence seats none -> {"counting": 2}',
        "runs 1 -> 3",
    ):
        assert expected in detail, detail


def test_a_store_synced_before_runs_was_recorded_is_not_shown_as_changed(
    home: Path, runtime: Runtime
):
    """Settings stored by a borough that did not record ``runs`` mean one run per fire."""
    Operator(runtime, actor="user:setup").sync()
    service = SchedulerService(runtime)
    service.store.start()
    try:
        job = service.store.jobs()["tick"]
        settings = {k: v for k, v in job.kwargs["settings"].items() if k != "runs"}
        service.store.scheduler.modify_job("tick", kwargs={**job.kwargs, "settings": settings})
    finally:
        service.store.shutdown()
        service.engine.dispose()
    assert Operator(runtime, actor="user:olivia").plan().changed == []


def test_a_bot_config_edit_shows_in_sync_and_reaches_the_scheduler_without_a_restart(
    home: Path, runtime: Runtime
):
    Operator(runtime, actor="user:setup").sync()
    service = SchedulerService(runtime)  # the scheduler's own objects, without its loop
    before = service.book.run_now("tick", "user:olivia")
    assert before.detail["max_run_seconds"] == 120 * 60 and service.seats.limits == {}
    bot_file = home / "config/bots/sleepy-a.yaml"
    bot_file.write_text(
        yaml.safe_dump({**yaml.safe_load(bot_file.read_text()), "max_run_minutes": 7})
    )
    apps = home / "config/apps.yaml"
    apps.write_text(
        apps.read_text().replace(COUNTING_KIND, f"{COUNTING_KIND}\n    max_sessions: 1")
    )

    plan = Operator(runtime, actor="user:olivia").plan()
    assert "max run minutes 120 -> 7" in plan.details["tick"]
    assert 'licence seats none -> {"counting": 1}' in plan.details["tick"]

    service.store.start()
    try:
        request = Request(0, "sync", None, "user:olivia", datetime.now(UTC))
        assert "1 changed" in service.apply_request(request)
    finally:
        service.store.shutdown()
    assert service.seats.limits == {"counting": 1}
    after = service.book.run_now("tick", "user:olivia")
    assert after.detail["max_run_seconds"] == 7 * 60
    record = [r for r in audit(home) if r["action"] == "schedule.synced"][-1]
    assert "max run minutes 120 -> 7" in record["detail"]["changed"]["tick"]


def audit(home: Path) -> list[dict[str, Any]]:
    lines = (home / "logs/audit/audit.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line]
