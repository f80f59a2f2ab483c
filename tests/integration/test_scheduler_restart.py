"""Kill -9 the scheduler, start it again: missed fires are recorded, run_once runs once."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from borough.ledger import RunStatus, Sealer, open_ledger
from borough.testing import COUNTING_KIND
from tests.support.scheduling import child_env, scheduler_home

EVERY = 2


def start_scheduler(home: Path, name: str) -> subprocess.Popen[bytes]:
    with open(home / f"{name}.out", "wb") as out:  # the child keeps its own copy of the fd
        return subprocess.Popen(
            [sys.executable, "-m", "borough", "serve", "scheduler"],
            env={**os.environ, **child_env(home), "COLUMNS": "200"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def catch_up_run(home: Path, after: datetime):
    found = [r for r in runs_of(home, "once") if r.detail.get("catch_up") and r.created_at > after]
    return found[0] if found else None


def runs_of(home: Path, schedule: str):
    """The run book only (no secrets needed: runs hold no sealed data)."""
    if not (home / "var/ledger.sqlite").exists():
        return []
    ledger = open_ledger(f"sqlite:///{home / 'var/ledger.sqlite'}", Sealer(os.urandom(32)))
    try:
        return ledger.runs.list(schedule=schedule, limit=1000)
    finally:
        ledger.close()


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.timeout(400)  # 102 s loaded
def test_killed_scheduler_restarts_records_missed_fires_and_runs_once(tmp_path: Path):
    interval = {"seconds": EVERY}
    home = scheduler_home(
        tmp_path,
        {
            "once": {"bot": "sleepy-a", "interval": interval, "misfire_grace_seconds": 1},
            "skip": {
                "bot": "sleepy-b",
                "interval": interval,
                "misfire_grace_seconds": 1,
                "on_missed": "skip",
            },
        },
        bots={"sleepy-a": {"app": "app-a"}, "sleepy-b": {"app": "app-b"}},
        apps={
            "app-a": {"kind": COUNTING_KIND, "path": "var/a.sqlite"},
            "app-b": {"kind": COUNTING_KIND, "path": "var/b.sqlite"},
        },
    )
    first = start_scheduler(home, "first")
    try:
        wait_until(lambda: runs_of(home, "once") and runs_of(home, "skip"), 60, "first fires")
        second = subprocess.run(
            [sys.executable, "-m", "borough", "serve", "scheduler"],
            env={**os.environ, **child_env(home)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 3, second.stdout + second.stderr
        assert f"the scheduler with pid {first.pid}" in second.stderr
        assert "is using this schedule store" in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed_at = datetime.now(UTC)
    time.sleep(3 * EVERY + 0.5)
    restarted = start_scheduler(home, "restarted")
    try:
        wait_until(
            lambda: (run := catch_up_run(home, killed_at)) and run.status.finished,
            90,
            "the catch-up run to finish",
        )
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(60) == 0
    output = (home / "restarted.out").read_text()
    assert "Missed while no scheduler ran" in output

    for name in ("once", "skip"):
        runs = runs_of(home, name)
        fires = sorted(r.fire_time for r in runs)
        assert len(fires) == len(set(fires)), f"{name}: a fire time recorded twice"
        steps = {(b - a).total_seconds() for a, b in itertools.pairwise(fires)}
        assert steps == {EVERY}, f"{name}: a fire is missing from the ledger"
        down = [r for r in runs if r.fire_time > killed_at and r.status is RunStatus.MISSED]
        assert len(down) >= 2, f"{name}: fires while down were recorded as MISSED"
        assert any("was not running" in (r.error or "") for r in down)
    catch_ups = [
        r for r in runs_of(home, "once") if r.detail.get("catch_up") and r.created_at > killed_at
    ]
    assert len(catch_ups) == 1, "run_once runs exactly once after the outage"
    assert catch_ups[0].status is RunStatus.SUCCEEDED
    assert catch_ups[0].detail["covers_missed"] >= 3
    assert not [r for r in runs_of(home, "skip") if r.detail.get("catch_up")]
