"""Kill -9 the web bot's run at random moments (and once right after a save committed),
re-run, and prove Caseflow holds exactly one case per valid row and no row is lost; the
drafts staff started are completed (never doubled), the finished case left alone."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from borough.ledger import ItemState
from sandbox.web import SandboxConfig, read_counts, serve_in_thread
from sandbox.web.data import notifications
from tests.integration.test_web_bot import assert_exactly_once, outcome
from tests.support.reliability import (
    Kills,
    after,
    audit_records,
    finish,
    in_order,
    item_states,
    start_run,
)
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

ROWS = 14

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]  # 64 s loaded


def kill_after_next_save(home: Path, store: Path, bot: str = BOT) -> bool:
    """Kill while a save has committed but not yet answered; True if one was caught."""
    before = read_counts(store)["cases"]

    def saved() -> bool:
        return read_counts(store)["cases"] > before

    Kills().at(start_run(home, bot), saved, what="a save", timeout=60, poll=0.01)
    return item_states(home, bot).get(ItemState.IN_FLIGHT.value, 0) > 0


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
        random_kills = Kills(rng)
        for _ in range(2):
            started = after(home, "run.start")
            work = after(home, "item.intent", "item.done", more=rng.randint(0, 8))
            random_kills.at(start_run(home, bot), in_order(started, work), what="items", jitter=0.3)
        code, output = finish(start_run(home, bot), timeout=300)
    assert code in (0, 1), output
    assert caught, "a kill landed between a committed save and DONE"
    assert random_kills.landed >= 1, random_kills.report()
    assert_exactly_once(home, config.store, rows, bot)
    items = outcome(home, bot)
    assert {items[index].reference for index in SEEDED} == seeded, "staff's cases completed"
    assert "Draft" not in read_counts(config.store)["statuses"].values()
    checks = [r for r in audit_records(home) if r["action"] == "item.checked"]
    assert any(r["outcome"] == "found" for r in checks), "a saved case was found, not redone"
