"""``runs: N`` on one machine (SQLite ledger, local dispatch): N processes of one fire share
the input, every item worked by exactly one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from borough.ledger import ItemState, RunStatus
from borough.testing import runtime_in
from scheduler.session import run_for
from tests.support.multirunner import BOT, SCHEDULE, cluster
from tests.support.scheduling import child_env

pytestmark = [pytest.mark.slow]

ITEMS = 240


@pytest.mark.timeout(300)
def test_runs_n_with_local_dispatch_share_one_input_exactly_once(tmp_path: Path):
    local = {
        "dispatch": "local",
        "store": f"sqlite:///{tmp_path / 'schedules.sqlite'}",
        "max_concurrent_runs": 3,
    }
    with cluster(
        tmp_path,
        f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        items=ITEMS,
        seconds_per_item=0.05,
        schedule={"runs": 3},
        scheduler=local,
    ) as made:
        with runtime_in(made.base) as runtime:
            summary = run_for(
                runtime, minutes=4, until_runs=3, run_now=[SCHEDULE], env=child_env(made.base)
            )
            states = runtime.ledger.items.count_by_state(bot=BOT)
        writes = made.writes()
    runs = [r for r in summary.runs if r.bot == BOT]
    assert len(runs) == 3, [(r.id, r.status) for r in runs]
    assert {r.status for r in runs} == {RunStatus.SUCCEEDED}, [(r.id, r.error) for r in runs]
    assert {r.trigger.split(":")[0] for r in runs} == {"run-now", "part"}
    twice = {key: n for key, n in writes.items() if n > 1}
    assert not twice, f"written more than once: {sorted(twice.items())[:10]}"
    assert len(writes) == ITEMS
    assert states == {ItemState.DONE: ITEMS}  # nothing left CLAIMED or IN_FLIGHT
    assert sum(r.counts.done for r in runs) == ITEMS  # each item counted by one run only
    assert sum(1 for r in runs if r.counts.done) >= 2, [r.counts for r in runs]  # shared
