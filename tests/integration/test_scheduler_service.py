"""The scheduler with real run processes: licence seats, hung bots, clock changes."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
import yaml
from sqlalchemy import update

from borough.audit.reading import iter_records
from borough.ledger import ItemState, RunRecord, RunStatus
from borough.ledger.schema import runs as runs_table
from borough.runner import RunRequest, run_bot
from borough.testing import COUNTING_KIND, counted_writes, make_home, runtime_in
from scheduler.operate import Operator
from scheduler.service import SchedulerService
from scheduler.session import run_for
from scheduler.triggers import LONDON
from tests.support.receivers import webhook_server
from tests.support.scheduling import child_env, one_seat_home, scheduler_home, wait_for

pytestmark = pytest.mark.timeout(240)  # real run processes; the longest took 14 s loaded


def audit_actions(home: Path, action: str) -> list[dict]:
    return [r for r in iter_records(home / "logs/audit") if r["action"] == action]


def test_two_schedules_on_a_one_seat_app_never_overlap(tmp_path: Path):
    home = one_seat_home(
        tmp_path,
        scheduler={"max_concurrent_runs": 2},
    )
    with runtime_in(home) as runtime:
        summary = run_for(runtime, minutes=1, until_runs=3, env=child_env(home))
    started = sorted((r for r in summary.runs if r.started_at), key=lambda r: r.started_at)
    assert {r.schedule for r in started if r.status is RunStatus.SUCCEEDED} == {"a", "b"}
    for earlier, later in itertools.pairwise(started):
        assert earlier.ended_at is not None and earlier.ended_at <= later.started_at, (
            f"{earlier.id} ({earlier.started_at}..{earlier.ended_at}) overlaps {later.id} "
            f"(from {later.started_at})"
        )
    waits = [r["detail"]["waiting_for"] for r in audit_actions(home, "run.waiting")]
    assert "a licence seat on counting" in waits, "a run had to wait for the seat"


def test_a_hung_run_is_killed_at_its_max_run_time_and_other_schedules_keep_firing(
    tmp_path: Path,
):
    with webhook_server() as hook:
        hung_run_is_killed(tmp_path, hook)
    assert [(p["event"], p["run_id"]) for p in hook.posts] == [("timed_out", hook.run_id)]


def hung_run_is_killed(tmp_path: Path, hook) -> None:
    home = scheduler_home(
        tmp_path,
        {
            "hang": {"bot": "hang-bot", "cron": "0 0 1 1 *", "max_run_minutes": 0.1},
            "tick": {"bot": "sleepy-b", "interval": {"seconds": 1}, "misfire_grace_seconds": 5},
        },
        bots={"hang-bot": {"hang": True, "ignore_sigterm": True}, "sleepy-b": {}},
        scheduler={"max_concurrent_runs": 2, "kill_grace_seconds": 1},
        extra={"notify": {"events": ["timed_out"], "webhook": {"url": hook.url}}},
    )
    with runtime_in(home) as runtime:
        runs = runtime.ledger.runs
        service = SchedulerService(runtime, env=child_env(home))
        service.start()
        try:
            queued = service.book.run_now("hang", "user:test")
            hang: RunRecord = wait_for(
                lambda: (r := runs.get(queued.id)).status.finished and r, 60, "the hung run to end"
            )  # type: ignore[assignment]
            time.sleep(1.5)
        finally:
            service.stop()
        assert hang.status is RunStatus.TIMED_OUT
        hook.run_id = hang.id
        assert hang.error == "killed at its maximum run time (0.1 min)"
        dispatched = datetime.fromisoformat(hang.detail["dispatched_at"])
        assert hang.ended_at - dispatched >= timedelta(seconds=6), "killed only at its max run time"
        assert hang.started_at is not None, "the bot was running (hung) when it was killed"
        ticks = runs.list(schedule="tick", limit=500)
        during = [
            r
            for r in ticks
            if r.detail.get("dispatched_at")
            and datetime.fromisoformat(r.detail["dispatched_at"]) < hang.ended_at
            and (r.ended_at is None or r.ended_at > dispatched)
        ]
        assert during, "another schedule's run was running while the hung run hung"
        assert any(r.status is RunStatus.SUCCEEDED for r in during)
        fires = sorted(r.fire_time for r in ticks)
        assert len(fires) == len(set(fires)), "each fire recorded once"
        gaps = {b - a for a, b in itertools.pairwise(fires)}
        assert gaps == {timedelta(seconds=1)}, "every fire of tick is in the ledger"
        assert [r["run_id"] for r in audit_actions(home, "run.kill")] == [hang.id]
        assert [r["run_id"] for r in audit_actions(home, "run.timed_out")] == [hang.id]

        # its item was left IN_FLIGHT; the next run recovers it by the ledger's rules
        [item] = runtime.ledger.items.list(bot="hang-bot")
        assert item.state is ItemState.IN_FLIGHT and item.owner_run == hang.id
        config_file = home / "config/bots/hang-bot.yaml"
        bot = yaml.safe_load(config_file.read_text())
        bot["settings"]["hang"] = False
        config_file.write_text(yaml.safe_dump(bot))
        runtime.config.reload()  # config is read once a process; an edit needs a reload
        rerun = run_bot(runtime, RunRequest("hang-bot"))
        assert rerun.status is RunStatus.SUCCEEDED and rerun.counts.recovered == 1
        states = [i.state for i in runtime.ledger.items.list(bot="hang-bot", limit=10)]
        assert states == [ItemState.DONE, ItemState.DONE]
        writes = counted_writes(home / "var/target.sqlite")
        assert (writes[hang.id], writes[rerun.id]) == (1, 1), "written once each"


def nightly_home(tmp_path: Path) -> Path:
    return scheduler_home(
        tmp_path,
        {
            "nightly": {
                "bot": "sleepy-a",
                "cron": "30 1 * * *",
                "misfire_grace_seconds": 60,
                "on_missed": "skip",
            }
        },
        bots={"sleepy-a": {}},
    )


def fires_of(runtime, day: str) -> list[datetime]:
    return sorted(
        r.fire_time
        for r in runtime.ledger.runs.list(schedule="nightly", limit=100)
        if r.fire_time.astimezone(LONDON).date().isoformat() == day
    )


def test_dst_october_the_0130_job_fires_once(tmp_path: Path):
    home = nightly_home(tmp_path)
    first_0130 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    second_0130 = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT, an hour later
    with (
        time_machine.travel(first_0130 - timedelta(seconds=3), tick=True) as clock,
        runtime_in(home) as runtime,
    ):
        service = SchedulerService(runtime, env=child_env(home))
        service.start()
        try:
            wait_for(lambda: fires_of(runtime, "2026-10-25"), 15, "the first 01:30")
            assert service.store.views()["nightly"].next_fire == datetime(
                2026, 10, 26, 1, 30, tzinfo=UTC
            ), "next fire is tomorrow, not the repeated 01:30"
            clock.move_to(second_0130 + timedelta(seconds=1))
            past = second_0130 + timedelta(seconds=1)
            assert service.store.wait_for_round(past), "the scheduler looked past the 2nd 01:30"
            assert fires_of(runtime, "2026-10-25") == [first_0130]
        finally:
            service.stop(stop_runs=True)


def test_dst_march_the_lost_0130_fires_once_at_0230_bst(tmp_path: Path):
    home = nightly_home(tmp_path)
    fire = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 02:30 BST; 01:30 did not exist
    with (
        time_machine.travel(datetime(2026, 3, 29, 0, 50, tzinfo=UTC), tick=True) as clock,
        runtime_in(home) as runtime,
    ):
        service = SchedulerService(runtime, env=child_env(home))
        service.start()
        try:
            assert service.store.views()["nightly"].next_fire == fire
            clock.move_to(fire - timedelta(seconds=2))
            service.store.wakeup()
            wait_for(lambda: fires_of(runtime, "2026-03-29"), 15, "the 02:30 BST fire")
            assert service.store.wait_for_round(datetime.now(UTC)), "a later round looked too"
            assert fires_of(runtime, "2026-03-29") == [fire]
            assert fire.astimezone(LONDON).strftime("%H:%M %Z") == "02:30 BST"
            assert service.store.views()["nightly"].next_fire == datetime(
                2026, 3, 30, 0, 30, tzinfo=UTC
            ), "and 01:30 BST the day after"
        finally:
            service.stop(stop_runs=True)


def test_a_seat_held_by_a_dead_run_expires_and_the_waiting_run_starts(tmp_path: Path):
    home = scheduler_home(
        tmp_path,
        {"job": {"bot": "sleepy-a", "cron": "0 0 1 1 *"}},
        bots={"sleepy-a": {}},
        apps={"counting": {"kind": COUNTING_KIND, "path": "var/target.sqlite", "max_sessions": 1}},
    )
    with runtime_in(home) as runtime:
        runs = runtime.ledger.runs
        service = SchedulerService(runtime, env=child_env(home))
        service.start()
        try:
            time.sleep(1)  # past the reaping the scheduler does as it starts
            holder = runs.create("sleepy-a", "1.0.0", trigger="manual", seats={"counting": 1})
            dead = subprocess.Popen(["sleep", "0"])  # a pid that is surely gone
            dead.wait()
            with runtime.ledger.engine.begin() as conn:
                conn.execute(
                    update(runs_table).where(runs_table.c.id == holder.id).values(pid=dead.pid)
                )
            queued = service.book.run_now("job", "user:test")
            operator = Operator(runtime, actor="user:test")
            wait_for(
                lambda: any(r.waiting_for for r in operator.rows()),
                20,
                "the run to wait for a seat",
            )
            [row] = operator.rows()
            assert (row.queued, row.waiting_for) == (1, "a licence seat on counting")
            wait_for(lambda: runs.get(queued.id).status.finished, 60, "the run to start and end")
        finally:
            service.stop()
        assert runs.get(holder.id).status is RunStatus.CRASHED
        assert runs.get(queued.id).status is RunStatus.SUCCEEDED
        reaped = audit_actions(home, "run.reaped")
        assert [r["run_id"] for r in reaped] == [holder.id]


def test_run_for_drives_the_demo_bot_on_a_schedule(tmp_path: Path):
    root = Path(__file__).resolve().parents[2]
    home = make_home(tmp_path / "demo", config=root / "config")
    shutil.copytree(root / "sample-data", home / "sample-data")
    schedules = home / "sample-data/demo-schedules.yaml"
    demo = yaml.safe_load(schedules.read_text())  # the file bot's schedule, firing faster
    entry = {**demo["schedules"]["demo-ctr-every-minute"], "interval": {"seconds": 3}}
    demo["schedules"] = {"demo-ctr-every-minute": entry}
    schedules.write_text(yaml.safe_dump(demo))
    ended: list[RunRecord] = []
    with runtime_in(home) as runtime:
        summary = run_for(
            runtime,
            schedules_file=schedules,
            minutes=2,
            until_runs=2,
            env=child_env(home),
            on_run_ended=ended.append,
            run_now=["demo-ctr-every-minute"],
        )
    assert any(r.trigger == "run-now:demo" for r in summary.runs)
    started = sorted((r for r in ended if r.started_at), key=lambda r: r.started_at)
    assert len(started) >= 2
    first, second = started[:2]
    assert first.status is RunStatus.COMPLETED_WITH_FAILURES and first.counts.done == 20
    assert second.counts.done == 0 and second.counts.already_done == 20
    lines = summary.lines()
    assert lines[0].startswith("scheduler ran ") and "  items done 20, failed 4" in lines
