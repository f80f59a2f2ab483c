"""`borough schedules ...` through Typer's CliRunner."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from borough.cli import app
from borough.ledger import RunStatus
from borough.testing import runtime_in
from scheduler.errors import SchedulerLockedError
from scheduler.lock import FileLock
from scheduler.service import SchedulerService
from tests.support.scheduling import child_env, scheduler_home

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = scheduler_home(
        tmp_path,
        {
            "morning": {"bot": "sleepy-a", "daily": "07:30", "calendar": "england-and-wales"},
            "month-end": {
                "bot": "sleepy-b",
                "monthly": {"working_day": -1, "at": "16:00"},
                "calendar": "scotland",
            },
        },
    )
    for key, value in child_env(home).items():
        monkeypatch.setenv(key, value)
    return home


def test_help_lists_the_service_and_the_schedules():
    output = invoke("--help").output
    assert "serve" in output and "schedules" in output
    assert "scheduler" in invoke("serve", "--help").output


def test_sync_shows_the_diff_then_applies_it(home: Path):
    dry = invoke("schedules", "sync", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "+ month-end  last working day of the month at 16:00 (scotland)" in dry.output
    assert "+ morning  07:30 on working days (england-and-wales)" in dry.output
    assert "not synced" in invoke("schedules", "list").output
    applied = invoke("schedules", "sync")
    assert "2 added, 0 changed, 0 removed, 0 unchanged (no scheduler running; applied)" in (
        applied.output
    )
    assert "already matches" in invoke("schedules", "sync").output
    schedules = home / "config/schedules.yaml"
    schedules.write_text(schedules.read_text().replace("07:30", "08:15"))
    changed = invoke("schedules", "sync")
    assert "~ morning  07:30 on working days (england-and-wales) -> 08:15 on working days" in (
        changed.output
    )


def test_list_pause_resume_and_run_now_without_a_running_scheduler(home: Path):
    invoke("schedules", "sync")
    listing = invoke("schedules", "list")
    assert "No scheduler is running" in listing.output
    assert "07:30 on working days (england-and-wales)" in listing.output
    assert "active" in listing.output and ":30:00" in listing.output
    paused = invoke("schedules", "pause", "morning")
    assert "morning paused (no scheduler running; applied)" in paused.output
    resumed = invoke("schedules", "resume", "morning")
    assert "morning resumed; next fire" in resumed.output
    invoke("schedules", "pause", "month-end")
    queued = invoke("schedules", "run-now", "morning")
    assert "queued" in queued.output and "No scheduler is running" in queued.output
    listing = invoke("schedules", "list").output
    assert "1 queued" in listing and "paused" in listing
    with runtime_in(home) as runtime:
        [run] = runtime.ledger.runs.list(statuses=[RunStatus.QUEUED])
    assert run.trigger.startswith("run-now:user:") and run.schedule == "morning"


def test_unknown_schedule_is_a_clear_error(home: Path):
    invoke("schedules", "sync")
    result = invoke("schedules", "pause", "evening")
    assert result.exit_code == 3
    assert "no schedule named 'evening' in the store; see `borough schedules list`" in (
        result.output
    )


def test_runs_list_failed_shows_missed_and_timed_out(home: Path):
    with runtime_in(home) as runtime:
        for status in (RunStatus.MISSED, RunStatus.TIMED_OUT, RunStatus.SUCCEEDED):
            run = runtime.ledger.runs.create("sleepy-a", "1.0.0", trigger="schedule:morning")
            runtime.ledger.runs.finish(run.id, status)
    output = invoke("runs", "list", "--failed", "--since", "1h").output
    assert "MISSED" in output and "TIMED_OUT" in output and "SUCCEEDED" not in output


def test_config_check_reports_schedules_yaml_by_line(home: Path):
    schedules = home / "config/schedules.yaml"
    schedules.write_text(schedules.read_text().replace("bot: sleepy-b", "bot: sleepy-c"))
    result = invoke("config", "check")
    assert result.exit_code == 3
    assert f"{schedules}:" in result.output and "no bot named 'sleepy-c'" in result.output


def test_config_check_warns_when_runs_exceed_the_seats_of_the_bots_app(home: Path):
    schedules = home / "config/schedules.yaml"
    document = yaml.safe_load(schedules.read_text())
    document["schedules"]["morning"]["runs"] = 3
    schedules.write_text(yaml.safe_dump(document, sort_keys=False))
    apps = home / "config/apps.yaml"
    apps.write_text(apps.read_text().replace("kind:", "max_sessions: 2\n    kind:"))
    line = next(
        n for n, text in enumerate(schedules.read_text().splitlines(), 1) if "runs: 3" in text
    )

    result = invoke("config", "check")

    assert result.exit_code == 0, result.output  # valid: the third part waits for a seat
    assert f"{schedules}:{line}" in result.output
    assert "runs: 3" in result.output and "max_sessions: 2" in result.output
    assert "counting" in result.output and "wait for a seat" in result.output
    document["schedules"]["morning"]["runs"] = 2
    schedules.write_text(yaml.safe_dump(document, sort_keys=False))
    assert "wait for a seat" not in invoke("config", "check").output


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_pause_and_resume_go_through_the_running_scheduler(home: Path):
    env = {**os.environ, **child_env(home)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "borough", *args], env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip

    with runtime_in(home) as runtime:
        service = SchedulerService(runtime)
        service.start()
        try:
            paused = cli("schedules", "pause", "morning")
            assert "morning paused (applied by the running scheduler)" in paused.stdout, (
                paused.stdout + paused.stderr
            )
            assert service.store.views()["morning"].paused
            resumed = cli("schedules", "resume", "morning")
            assert "(applied by the running scheduler)" in resumed.stdout
            assert not service.store.views()["morning"].paused
            listing = cli("schedules", "list")
            assert f"Scheduler running: pid {os.getpid()}" in listing.stdout
        finally:
            service.stop()
    actions = [line for line in (home / "logs/audit/audit.jsonl").read_text().splitlines()]
    assert sum('"action":"schedule.paused"' in line for line in actions) == 1
    assert sum('"action":"schedule.resumed"' in line for line in actions) == 1


def test_one_scheduler_per_store_and_a_standby_takes_over(tmp_path: Path):
    path = tmp_path / "schedules.lock"
    active, standby = FileLock(path), FileLock(path)
    active.acquire()
    with pytest.raises(SchedulerLockedError, match=f"pid {os.getpid()} on"):
        FileLock(path).acquire()
    assert FileLock(path).holder()["pid"] == os.getpid()
    took_over = threading.Event()
    waiter = threading.Thread(
        target=lambda: (standby.acquire(wait=True, poll=0.05), took_over.set()), daemon=True
    )
    waiter.start()
    assert not took_over.wait(0.5)
    active.release()
    assert took_over.wait(5)
    standby.release()
    assert FileLock(path).holder() is None
