"""After kill -9 of a desktop run that started its own Xvfb, window manager and app, the next
run stops all three before it starts its own: no second copy of the app on the same store,
nothing the dead run typed left unsaved on a screen nobody sees."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from borough.ledger.runs import process_alive
from borough.testing import home_env
from tests.conftest import require
from tests.support.casework import (
    BOT,
    ROOT,
    app_command,
    assert_held_once_each,
    audit_count,
    casework_rows,
    desktop_home,
    wait_for,
)
from tests.support.reliability import audit_records

pytestmark = [pytest.mark.xvfb, pytest.mark.slow, pytest.mark.timeout(300)]


def start_run_without_display(home: Path) -> subprocess.Popen[bytes]:
    """``borough run`` with no DISPLAY: the connector starts Xvfb, openbox and the app."""
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)}
    env.pop("DISPLAY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "borough", "run", BOT, "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def recorded(home: Path) -> dict[int, str]:
    folder = home / "var" / "processes"
    records = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    return {record["pid"]: record["what"] for record in records}


def test_a_killed_runs_app_and_display_are_stopped_by_the_next_run(tmp_path: Path):
    for tool, package in (("Xvfb", "xvfb"), ("xclip", "xclip"), ("openbox", "openbox")):
        require(shutil.which(tool) is not None, tool, f"apt-get install {package}")
    rows = casework_rows(4, seed=7)
    home = desktop_home(
        tmp_path, rows, command=app_command(), borough={"audit": {"checkpoint_every": 500}}
    )
    run = start_run_without_display(home)
    orphans: dict[int, str] = {}
    try:
        wait_for(home, "item.done", 1, run, timeout=180)
        assert run.poll() is None, run.communicate()[1].decode()
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=30)
        orphans = recorded(home)
        assert sorted(orphans.values()) == [
            "app revenues-desktop",
            "virtual display (Xvfb)",
            "window manager openbox",
        ]
        assert all(process_alive(pid, None) for pid in orphans), "they outlive the killed run"

        final = start_run_without_display(home)
        _, err = final.communicate(timeout=240)
        assert final.returncode == 0, err.decode()
        assert not [pid for pid in orphans if process_alive(pid, None)], "orphans still running"
        stopped = [r for r in audit_records(home) if r["action"] == "app.orphan_stopped"]
        assert sorted(r["detail"]["what"] for r in stopped) == sorted(orphans.values())
        assert recorded(home) == {}, "the finished run stopped and forgot its own"
        assert audit_count(home, "run.start") == 2
    finally:
        for pid in [*orphans, *recorded(home)]:
            if process_alive(pid, None):
                os.kill(pid, signal.SIGKILL)
        if run.poll() is None:
            run.kill()
    assert_held_once_each(home, rows)
