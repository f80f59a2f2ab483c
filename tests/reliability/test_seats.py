"""Licence seats hold for every run: many manual starts at once, manual beside scheduled.

The counting target logs every sign-in and sign-out; with ``max_sessions: 1`` it must
never see two sessions at once, however the runs were started.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from borough.ledger import RunStatus
from borough.testing import COUNTING_KIND, most_sessions_at_once, runtime_in
from scheduler.session import run_for
from tests.support.installs import people, people_csv
from tests.support.reliability import (
    TIMEOUT,
    finish,
    ledger_rows,
    ready_home,
    reaped,
    scaled,
    start,
    start_run,
    wait_for,
)
from tests.support.scheduling import child_env, one_seat_home

pytestmark = [pytest.mark.slow, pytest.mark.timeout(TIMEOUT)]

ONE_SEAT = {"kind": COUNTING_KIND, "path": "var/target.sqlite", "max_sessions": 1}
STARTS = 20


def one_seat_counting_home(root: Path, runs: int) -> Path:
    """A counting home whose app has one seat, and one input file (3 rows) per run."""
    home = ready_home(
        root,
        people(3),
        target={"max_sessions": 1},
        settings={"pause_seconds": 0.02},
        borough={"audit": {"checkpoint_every": 100}},
    )
    for n in range(runs):
        rows = [{**row, "Ref": f"R{n:02d}{i}"} for i, row in enumerate(people(3), start=1)]
        (home / f"input/run-{n}.csv").write_text(people_csv(rows), encoding="utf-8")
    return home


def test_simultaneous_manual_starts_never_share_the_seat(tmp_path: Path):
    count = scaled(STARTS)
    home = one_seat_counting_home(tmp_path, count)
    procs = [start_run(home, extra=("--input", f"csv=input/run-{n}.csv")) for n in range(count)]
    results = [finish(proc, timeout=TIMEOUT) for proc in procs]
    for code, output in results:
        assert code == 0, output
    assert most_sessions_at_once(home / "var/target.sqlite") == 1
    waited = [
        output for _, output in results if "Waiting: no licence seat free on counting" in output
    ]
    assert waited, "some runs had to wait for the seat"
    assert all("held by run " in o and "started by user:" in o for o in waited)
    statuses = ledger_rows(home, "SELECT status, COUNT(*) FROM borough_runs GROUP BY status")
    assert statuses == [("succeeded", count)]
    assert ledger_rows(home, "SELECT COUNT(*) FROM borough_seats") == [(0,)]


def test_manual_and_scheduled_runs_never_share_the_seat(tmp_path: Path):
    home = one_seat_home(tmp_path, scheduler={"max_concurrent_runs": 2})
    manual = [start(home, "run", "sleepy-a", "--quiet") for _ in range(scaled(6))]
    try:
        with runtime_in(home) as runtime:
            summary = run_for(runtime, minutes=2, until_runs=scaled(6), env=child_env(home))
    finally:
        results = [finish(proc, timeout=TIMEOUT) for proc in manual]
    for code, output in results:
        assert code == 0, output
    scheduled = [r for r in summary.runs if r.status is RunStatus.SUCCEEDED]
    assert len(scheduled) >= scaled(6)
    assert most_sessions_at_once(home / "var/target.sqlite") == 1


def test_no_wait_fails_at_once_naming_the_holder(tmp_path: Path):
    home = one_seat_counting_home(tmp_path, 1)
    with runtime_in(home) as runtime:  # this test process holds the seat
        holder = runtime.ledger.runs.create(
            "counting-bot", "1.0.0", seats={"counting": 1}, detail={"started_by": "user:ann"}
        )
        code, output = finish(start_run(home, extra=("--no-wait",)))
    assert code == 3, output
    text = " ".join(output.split())
    assert f"held by run {holder.id} of counting-bot (manual, started by user:ann" in text
    assert "not waiting (--no-wait)" in text
    assert [r[0] for r in ledger_rows(home, "SELECT id FROM borough_runs")] == [holder.id]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_giving_up_while_waiting_leaves_nothing_behind(tmp_path: Path, signum: int):
    home = one_seat_counting_home(tmp_path, 1)
    with runtime_in(home) as runtime:
        holder = runtime.ledger.runs.create("counting-bot", "1.0.0", seats={"counting": 1})
        err = tmp_path / "stderr.txt"
        with open(err, "wb") as sink:
            waiting = start(home, "run", "counting-bot", "--quiet", stderr=sink)
        with reaped(waiting):
            wait_for(lambda: b"Waiting:" in err.read_bytes(), timeout=90, what="the wait")
            time.sleep(0.3)
            waiting.send_signal(signum)
            code, _ = finish(waiting, timeout=60)
        assert code == 3
        runtime.ledger.runs.finish(holder.id, RunStatus.SUCCEEDED)
    text = " ".join(err.read_text("utf-8").split())
    assert "stopped while waiting for a licence seat; nothing was recorded" in text
    assert [r[0] for r in ledger_rows(home, "SELECT id FROM borough_runs")] == [holder.id]
    assert ledger_rows(home, "SELECT COUNT(*) FROM borough_seats") == [(0,)]
