"""Kill -9 the desktop bot at random moments while it drives the real client; re-run; prove
the client holds every record exactly once and the ledger agrees with it.

The client keeps running across the kills (as it would on a robot's desktop), so each run
attaches to whatever the dead one left on screen: a half-filled form, a question, a pop-up.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from borough.ledger import ItemState
from borough.testing import home_env, runtime_in
from tests.support import casework
from tests.support.casework import (
    BOT,
    ROOT,
    app_db,
    app_events,
    app_records,
    casework_rows,
    desktop_home,
    expected_record,
)

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]
ROWS = 10


def start_run(home: Path, display: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT), "DISPLAY": display}
    return subprocess.Popen(
        [sys.executable, "-m", "borough", "run", BOT, "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def start_client(home: Path, display: str, seed: int) -> subprocess.Popen[bytes]:
    options = ("--lock-rate", "0.1", "--seed", str(seed), "--save-delay-ms", "40")
    return casework.start_client(app_db(home), display, *options)


def audit_count(home: Path, action: str) -> int:
    trail = home / "logs/audit/audit.jsonl"
    text = trail.read_text(encoding="utf-8") if trail.exists() else ""
    return text.count(f'"action":"{action}"')


def wait_for(home: Path, action: str, count: int, run: subprocess.Popen[bytes]) -> None:
    """Until the trail holds ``count`` ``action`` records, or the run has ended."""
    deadline = time.monotonic() + 120
    while audit_count(home, action) < count and run.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {count} {action} records within 120 s")
        time.sleep(0.02)


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_at_random_moments_never_loses_or_doubles_a_record(
    tmp_path: Path, desktop_display: str, seed: int
):
    rng = random.Random(seed)
    rows = casework_rows(ROWS, seed=seed)
    home = desktop_home(
        tmp_path,
        rows,
        borough={"ledger": {"lease_seconds": 600}, "audit": {"checkpoint_every": 500}},
    )
    client = start_client(home, desktop_display, seed)
    try:
        kills = 0
        for started in range(1, 5):
            run = start_run(home, desktop_display)
            # kill while it works, whatever the machine's speed: after a random number (0-2)
            # of this run's records are saved, at a random moment within the next item
            wait_for(home, "run.start", started, run)
            wait_for(home, "item.done", audit_count(home, "item.done") + rng.randint(0, 2), run)
            time.sleep(rng.uniform(0.0, 0.5))
            if run.poll() is None:
                run.send_signal(signal.SIGKILL)
                kills += 1
            run.communicate(timeout=60)
        final = start_run(home, desktop_display)
        _, err = final.communicate(timeout=240)
        assert final.returncode == 0, err.decode()
        assert client.poll() is None, "the client survived every kill"
    finally:
        client.terminate()
        client.wait(10)
    assert kills >= 1

    held = app_records(home)
    assert set(held) == {row["Case Reference"] for row in rows}, "no record lost"
    assert app_events(home)["saved"] == ROWS, "no record saved twice"
    for row in rows:
        record = held[row["Case Reference"]]
        assert {k: record[k] for k in expected_record(row)} == expected_record(row)
    with runtime_in(home) as runtime:
        items = runtime.ledger.items.list(bot=BOT, limit=100, unseal=True)
    assert {item.state for item in items} == {ItemState.DONE}
    assert {item.key: item.reference for item in items} == {
        case: record["reference"] for case, record in held.items()
    }
