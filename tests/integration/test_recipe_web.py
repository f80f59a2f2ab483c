"""The web demo bot as a recipe makes the same cases in Caseflow as the Python bot, from the
same notifications and the same cases staff keyed before (drafts to complete, a finished
case to leave alone), with the app failing now and then (errors, truncated pages, locks)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from borough.ledger import ItemState
from borough.runner import RunRequest, run_bot
from borough.testing import runtime_in
from sandbox.web import SandboxConfig, read_counts, serve_in_thread
from sandbox.web.data import Notification, notifications
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

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

#: what a case holds that comes from the notification (not its reference, time or author)
CASE = "claim_ref, account, surname, forenames, nino, change_type, effective_date, " \
    "weekly_pence, postcode, notes, status"  # fmt: skip


def cases(store: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(store)) as db:
        return sorted(db.execute(f"SELECT {CASE} FROM cases").fetchall())


def work(
    bot: str, root: Path, rows: list[Notification]
) -> tuple[list[tuple[object, ...]], dict[str, str]]:
    config = SandboxConfig(
        store=root / "caseflow.sqlite", users={USER: PASSWORD}, fault_rate=0.08, seed=6
    )
    seeded = seed_staff_cases(config.store, rows)
    with serve_in_thread(config) as app:
        home = web_home(root / "home", app.url, rows, bot=bot)
        with runtime_in(home) as runtime:
            run_bot(runtime, RunRequest(bot))
            again = run_bot(runtime, RunRequest(bot))
    assert again.counts.ingested == 0 and again.counts.done == 0, "nothing worked twice"
    assert_exactly_once(home, config.store, rows, bot)
    items = outcome(home, bot)
    states = {str(index): item.state.value for index, item in items.items()}
    assert {items[index].reference for index in SEEDED} == seeded, "staff's cases completed"
    assert "Draft" not in read_counts(config.store)["statuses"].values()
    return cases(config.store), states


def test_the_recipe_makes_the_cases_the_python_bot_makes(tmp_path: Path):
    require_chromium()
    rows = notifications(16, bad_every=5, seed=8)
    python_cases, python_states = work(BOT, tmp_path / "python", rows)
    recipe_cases, recipe_states = work(RECIPE, tmp_path / "recipe", rows)
    assert recipe_cases == python_cases
    assert recipe_states == python_states
    assert ItemState.FAILED.value in recipe_states.values(), "bad rows fail in both"
