"""Kill -9 a real run process at random moments, re-run, and prove nothing is lost or doubled."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from borough.ledger import ItemState
from borough.testing import counted_writes, runtime_in
from tests.support.installs import counting_home, people
from tests.support.reliability import Kills, after, finish, in_order, start_run

ROWS = 40


@pytest.mark.slow
@pytest.mark.timeout(300)  # 55 s loaded
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_random_moments_never_loses_or_doubles_an_item(tmp_path: Path, seed: int):
    rng = random.Random(seed)
    rows = people(ROWS, bad_every=9)
    home = counting_home(
        tmp_path,
        rows,
        settings={"pause_seconds": 0.01, "pause_after_seconds": 0.03},
        target={"fail_before_rate": 0.05, "fail_after_rate": 0.05, "seed": seed},
        borough={"ledger": {"lease_seconds": 600}, "audit": {"checkpoint_every": 50}},
    )
    kills = Kills(rng)
    for _ in range(5):
        # at a random moment of the run's own work, however slow start-up is today
        started = after(home, "run.start")
        work = after(home, "item.intent", "item.done", more=rng.randint(0, 30))
        kills.at(start_run(home), in_order(started, work), what="item records", jitter=0.03)
    code, output = finish(start_run(home))
    assert code in (0, 1), output
    assert kills.landed >= 1, kills.report()

    valid = {row["Ref"] for row in rows if row["Amount"] != "lots"}
    writes = counted_writes(home / "var/target.sqlite")
    assert set(writes) == valid, "every valid row reached the target"
    assert all(count == 1 for count in writes.values()), f"duplicates: {writes}"
    with runtime_in(home) as runtime:
        items = runtime.ledger.items.list(bot="counting-bot", limit=1000)
        crashed = [r for r in runtime.ledger.runs.list(limit=100) if r.status.value == "crashed"]
    assert len(items) == ROWS, "no row lost"
    by_state = {item.key_token: item.state for item in items}
    assert sorted(set(by_state.values())) == sorted({ItemState.DONE, ItemState.FAILED})
    assert sum(1 for s in by_state.values() if s is ItemState.FAILED) == ROWS - len(valid)
    # a kill may land after a run already finished its (few remaining) items
    assert 1 <= len(crashed) <= kills.landed
