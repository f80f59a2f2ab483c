"""Processes a killed run started are found and stopped by the next run; those of live runs,
and a pid the system has since given to another process, are never touched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from borough.ledger.runs import process_alive
from borough.processes import ProcessBook

#: a "run": starts an app (sleep, in its own session, as the desktop connector starts
#: apps), records it, says its pid, then waits to be killed
RUN = """
import subprocess, sys, time
from pathlib import Path
from borough.processes import ProcessBook
app = subprocess.Popen(["sleep", "300"], start_new_session=True)
ProcessBook(Path(sys.argv[1])).own(sys.argv[2], app.pid, "app sleeper")
print(app.pid, flush=True)
time.sleep(300)
"""


def start_run(folder: Path, run_id: str) -> tuple[subprocess.Popen[str], int]:
    run = subprocess.Popen(
        [sys.executable, "-c", RUN, str(folder), run_id], stdout=subprocess.PIPE, text=True
    )
    assert run.stdout is not None
    with run.stdout:
        return run, int(run.stdout.readline())


def gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while process_alive(pid, None) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not process_alive(pid, None)


def test_an_app_of_a_run_killed_with_9_is_stopped_by_the_next_run(tmp_path: Path):
    book = ProcessBook(tmp_path / "processes")
    run, app = start_run(book.folder, "run-1")
    try:
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        assert process_alive(app, None), "the app outlives its killed run"
        seen: list[tuple[str, str]] = []
        stopped = book.stop_orphans(lambda record, how: seen.append((record.what, how)))
        assert [r.pid for r in stopped] == [app] and seen == [("app sleeper", "terminated")]
        assert gone(app)
        assert book.records() == []
        assert book.stop_orphans() == []  # nothing twice
    finally:
        if process_alive(app, None):
            os.kill(app, signal.SIGKILL)


def test_the_app_of_a_live_run_is_left_alone(tmp_path: Path):
    book = ProcessBook(tmp_path / "processes")
    run, app = start_run(book.folder, "run-1")
    try:
        assert book.stop_orphans() == []
        assert process_alive(app, None) and len(book.records()) == 1
    finally:
        run.kill()
        run.wait(10)
        os.kill(app, signal.SIGKILL)


def test_a_reused_pid_is_never_taken_for_the_recorded_app(tmp_path: Path):
    book = ProcessBook(tmp_path / "processes")
    stranger = subprocess.Popen(["sleep", "300"])
    try:
        book.own("run-1", stranger.pid, "app sleeper")
        path = next(book.folder.glob("*.json"))
        record = json.loads(path.read_text())
        record.update(owner_pid=2**22 + 1, start="1")  # its run is gone; the pid is reused
        path.write_text(json.dumps(record))
        assert book.stop_orphans() == []
        assert stranger.poll() is None and book.records() == []
    finally:
        stranger.kill()
        stranger.wait(10)


def test_records_are_private_and_name_no_data(tmp_path: Path):
    book = ProcessBook(tmp_path / "processes")
    book.own("run-1", os.getpid(), "app casework")
    [path] = book.folder.glob("*.json")
    assert path.stat().st_mode & 0o077 == 0 and book.folder.stat().st_mode & 0o077 == 0
    assert set(json.loads(path.read_text())) == {
        "run_id",
        "owner_pid",
        "owner_start",
        "pid",
        "start",
        "what",
    }
    book.disown("run-1", os.getpid())
    assert book.records() == []
