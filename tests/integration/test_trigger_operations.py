"""Operators see event triggers in `borough schedules list|status` and pause and resume
them like schedules: a paused trigger's events wait and start runs once it is resumed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from borough.audit.reading import iter_records
from borough.testing import runtime_in
from scheduler.service import SchedulerService
from tests.support.events import drop, events_home, rows_csv, runs_of
from tests.support.scheduling import child_env, wait_for

pytestmark = pytest.mark.timeout(180)


def invoke(home: Path, *args: str) -> str:
    """The CLI in its own process, as an operator's shell runs it beside the scheduler."""
    result = subprocess.run(
        [sys.executable, "-m", "borough", *args],
        env={**os.environ, **child_env(home), "COLUMNS": "220"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_triggers_are_listed_paused_and_resumed(tmp_path: Path):
    home = events_home(
        tmp_path,
        {
            "inbox": {
                "bot": "counting-bot",
                "file": {"folder": "inbox", "pattern": "*.csv", "settle_seconds": 0.5},
                "poll_seconds": 0.3,
            },
            "late": {
                "bot": "counting-bot",
                "queue": {"pending": 5},
                "calendar": "england-and-wales",
                "hours": {"from": "00:00", "to": "00:01"},
                "enabled": False,
            },
        },
    )
    inbox = home / "inbox"
    inbox.mkdir()
    listing = invoke(home, "schedules", "list")
    assert "Event triggers" in listing
    assert "file: files inbox/*.csv" in listing and "active" in listing
    assert "queue: items of counting-bot: >= 5 due" in listing and "disabled" in listing
    assert "opens " in listing, "a closed window says when it opens"
    assert "No schedules or triggers" not in listing

    assert "trigger inbox paused" in invoke(home, "schedules", "pause", "inbox")
    assert "already paused" in invoke(home, "schedules", "pause", "inbox")
    assert "paused: inbox" in invoke(home, "schedules", "status")
    with runtime_in(home) as runtime:
        service = SchedulerService(runtime, env=child_env(home))
        service.start()
        try:
            drop(inbox, "a.csv", rows_csv([1, 2]))
            service.events.poll(force=True)
            wait_for(lambda: _settled(inbox), 10, "the drop to look settled")
            for _ in range(3):
                service.events.poll(force=True)
            assert (inbox / "a.csv").exists()
            assert runtime.ledger.runs.list(schedule="inbox") == []
            assert "trigger inbox resumed" in invoke(home, "schedules", "resume", "inbox")
            wait_for(
                lambda: len(list((inbox / "processed").glob("*.csv"))) == 1,
                60,
                "the waiting file to be taken once resumed",
            )
        finally:
            service.stop()
    listing = invoke(home, "schedules", "list")
    assert "succeeded" in listing.lower()
    assert len(runs_of(home, "inbox")) == 1
    actions = [r["action"] for r in iter_records(home / "logs/audit")]
    assert actions.count("trigger.paused") == 1 and actions.count("trigger.resumed") == 1
    assert "not paused" in invoke(home, "schedules", "resume", "inbox")


def _settled(inbox: Path) -> bool:
    import time

    path = inbox / "a.csv"
    return path.exists() and time.time() - path.stat().st_mtime > 1.0
