"""Caseflow --save-later keeps new cases in the session's unsaved work until Save all: the
web bot with save_every saves in batches, and kill -9 at random moments (and right after
a batch.intent, while Save all runs) loses and duplicates nothing."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sandbox.web import SandboxConfig, read_counts, serve_in_thread
from sandbox.web.data import notifications
from tests.integration.test_web_bot import assert_exactly_once
from tests.support.reliability import (
    Kills,
    after,
    audit_records,
    finish,
    in_order,
    scaled,
    start_run,
)
from tests.support.web import BOT, PASSWORD, USER, require_chromium, web_home

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]
ROWS = 12
SAVE_LATER = {"settings": {"save_later": True}, "save_every": 4}


def test_cases_wait_in_unsaved_work_until_the_runtime_saves_them(tmp_path: Path):
    require_chromium()
    rows = notifications(10, bad_every=0, seed=4)
    config = SandboxConfig(store=tmp_path / "cf.sqlite", users={USER: PASSWORD}, save_later=True)
    with serve_in_thread(config) as app:
        home = web_home(tmp_path / "home", app.url, rows, bot_config=SAVE_LATER)
        final = start_run(home, BOT)
        _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    assert_exactly_once(home, config.store, rows)
    intents = [r for r in audit_records(home) if r["action"] == "batch.intent"]
    assert [len(r["detail"]["items"]) for r in intents] == [4, 4, 2]


@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_of_a_save_later_web_bot_loses_and_duplicates_nothing(tmp_path: Path, seed: int):
    require_chromium()
    rng = random.Random(seed)
    rows = notifications(ROWS, bad_every=5, seed=seed)
    config = SandboxConfig(
        store=tmp_path / "cf.sqlite",
        users={USER: PASSWORD},
        save_later=True,
        fault_rate=0.05,
        commit_delay=0.3,  # Save all wrote the cases; its answer has not come back yet
        seed=seed,
    )
    kills, mid_save = Kills(rng), 0
    with serve_in_thread(config) as app:
        home = web_home(
            tmp_path / "home",
            app.url,
            rows,
            bot_config=SAVE_LATER,
            borough={"ledger": {"lease_seconds": 600}, "audit": {"checkpoint_every": 50}},
        )
        for round_ in range(scaled(4)):
            if round_ % 2 == 0:  # right after a batch.intent: inside Save all
                point, what, jitter = after(home, "batch.intent"), "a batch.intent", 0.3
            else:  # among the items (held, unsaved) or at a save
                work = after(home, "item.intent", "item.done", more=rng.randint(0, 8))
                point, what, jitter = in_order(after(home, "run.start"), work), "items", 0.3
            landed = kills.at(start_run(home, BOT), point, what=what, jitter=jitter)
            mid_save += landed and round_ % 2 == 0
        code, output = finish(start_run(home, BOT), timeout=300)
    assert code in (0, 1), output
    assert kills.landed >= 2 and mid_save >= 1, kills.report()
    assert_exactly_once(home, config.store, rows)
    assert read_counts(config.store)["faults"].get("duplicate-held", 0) == 0
