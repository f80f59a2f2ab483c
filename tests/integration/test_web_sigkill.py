"""Kill -9 the web bot's run at random moments (and once right after a save committed),
re-run, and prove Caseflow holds exactly one case per valid row and no row is lost; the
drafts staff started are completed (never doubled), the finished case left alone."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from borough.ledger import ItemState
from borough.testing import home_env
from sandbox.web import SandboxConfig, read_counts, serve_in_thread
from sandbox.web.data import notifications
from tests.integration.test_web_bot import assert_exactly_once, outcome
from tests.support.web import (
    BOT,
    PASSWORD,
    RECIPE,
    SEEDED,
    USER,
    require_chromium,
    seed_staff_cases,
    web_home,
)

ROOT = Path(__file__).resolve().parents[2]
ROWS = 14

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]  # 64 s loaded


def start_run(home: Path, bot: str = BOT) -> subprocess.Popen[bytes]:
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "borough", "run", bot, "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill(proc: subprocess.Popen[bytes]) -> bool:
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return killed


def kill_after_next_save(home: Path, store: Path, bot: str = BOT) -> bool:
    """Kill while a save has committed but not yet answered; True if one was caught."""
    before = read_counts(store)["cases"]
    proc = start_run(home, bot)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if read_counts(store)["cases"] > before:
            break
        time.sleep(0.01)
    kill(proc)
    return in_flight(home, bot) > 0


def in_flight(home: Path, bot: str = BOT) -> int:
    """IN_FLIGHT items, read straight from the ledger file (no need to unlock secrets)."""
    with contextlib.closing(sqlite3.connect(home / "var" / "ledger.sqlite")) as db:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM borough_items WHERE bot = ? AND state = ?",
            (bot, ItemState.IN_FLIGHT.value),
        ).fetchone()
    return int(count)


def audit_records(home: Path) -> list[dict[str, object]]:
    lines = (home / "logs" / "audit" / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize(("bot", "seed"), [(BOT, 1), (BOT, 2), (RECIPE, 1)])
def test_sigkill_never_loses_a_row_or_duplicates_a_case(tmp_path: Path, bot: str, seed: int):
    require_chromium()
    rng = random.Random(seed)
    rows = notifications(ROWS, bad_every=5, seed=seed)
    config = SandboxConfig(
        store=tmp_path / "caseflow.sqlite",
        users={USER: PASSWORD},
        fault_rate=0.05,
        commit_delay=0.3,  # the dangerous moment: saved in the app, not yet DONE in the ledger
        seed=seed,
    )
    seeded = seed_staff_cases(config.store, rows)
    with serve_in_thread(config) as app:
        home = web_home(
            tmp_path / "home",
            app.url,
            rows,
            borough={"ledger": {"lease_seconds": 600}, "audit": {"checkpoint_every": 50}},
            bot=bot,
        )
        caught = any(kill_after_next_save(home, config.store, bot) for _ in range(3))
        random_kills = 0
        for _ in range(2):
            proc = start_run(home, bot)
            time.sleep(rng.uniform(2.5, 6.0))
            random_kills += kill(proc)
        final = start_run(home, bot)
        _, err = final.communicate(timeout=300)
    assert final.returncode in (0, 1), err.decode()
    assert caught, "a kill landed between a committed save and DONE"
    assert random_kills >= 1
    assert_exactly_once(home, config.store, rows, bot)
    items = outcome(home, bot)
    assert {items[index].reference for index in SEEDED} == seeded, "staff's cases completed"
    assert "Draft" not in read_counts(config.store)["statuses"].values()
    checks = [r for r in audit_records(home) if r["action"] == "item.checked"]
    assert any(r["outcome"] == "found" for r in checks), "a saved case was found, not redone"
