"""Several runner machines working one bot's input at once, with machines killed under them.

Every trial ends the same way: every item DONE in the ledger, written exactly once in the
target, nothing CLAIMED or IN_FLIGHT, no run QUEUED or RUNNING.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from borough.ledger import RunStatus
from tests.support.multirunner import SCHEDULE, Cluster, cluster, ledger_state, runs_of, settled
from tests.support.scheduling import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ITEMS = int(os.environ.get("BOROUGH_SCALEOUT_ITEMS", "600"))
KILLS = int(os.environ.get("BOROUGH_SCALEOUT_KILLS", "10"))
BUDGET = 600 + ITEMS // 5  # seconds: generous for a loaded 2-core machine


def assert_exactly_once(made: Cluster, items: int) -> None:
    writes = made.writes()
    twice = {key: n for key, n in writes.items() if n > 1}
    assert not twice, f"written more than once: {sorted(twice.items())[:10]}"
    assert len(writes) == items, f"{items - len(writes)} item(s) never written"
    state = ledger_state(made.db_url)
    assert state == {"done": items}, state


def finish(made: Cluster, items: int, timeout: float) -> None:
    wait_for(lambda: ledger_state(made.db_url).get("done", 0) == items, timeout, "every item done")
    wait_for(lambda: settled(made.db_url), timeout, "no run left queued or running")


@pytest.mark.timeout(BUDGET + 120)
def test_three_runners_share_one_input_exactly_once_while_machines_are_killed(
    tmp_path: Path, postgres_url: str
):
    rng = random.Random(os.environ.get("BOROUGH_SCALEOUT_SEED", "15"))
    # items take a little time each, so the work outlasts the kills it must survive
    paced = {"items": ITEMS, "seconds_per_item": 0.1, "schedule": {"runs": 3}}
    with cluster(tmp_path, postgres_url, **paced) as made:
        made.scheduler("sched-1")
        runners = [made.runner(f"runner-{n}") for n in (1, 2, 3)]
        queued = made.cli("schedules", "run-now", SCHEDULE)
        assert queued.returncode == 0, queued.stdout + queued.stderr
        wait_for(lambda: ledger_state(made.db_url).get("done", 0) > 0, 120, "work to begin")
        kills = 0
        while kills < KILLS and ledger_state(made.db_url).get("done", 0) < ITEMS * 0.9:
            time.sleep(rng.uniform(0.2, 2.5))
            # a kill lands on a machine that is working: an idle one proves nothing, and a
            # machine just restarted may not have picked a job up yet
            working = [runner for runner in runners if runner.busy]
            if not working:
                continue
            victim = rng.choice(working)
            if victim.kill() > 1:  # the worker and at least one run of it
                kills += 1
            victim.start()  # the machine comes back (same host name, same home)
        finish(made, ITEMS, BUDGET)
        runs = runs_of(made.db_url)
    assert kills >= min(KILLS, 3), f"only {kills} kill(s) landed on a working machine"
    assert_exactly_once(made, ITEMS)
    worked_on = {run["host"] for run in runs if run["status"] != RunStatus.QUEUED.value}
    assert {"runner-1", "runner-2", "runner-3"} <= worked_on, worked_on
    crashed = [run for run in runs if run["status"] == RunStatus.CRASHED.value]
    assert len(crashed) >= min(kills, 3), "a killed machine's run is recorded as crashed"


@pytest.mark.timeout(300)
def test_without_faults_parallel_runs_split_the_items(tmp_path: Path, postgres_url: str):
    items = 300
    with cluster(tmp_path, postgres_url, items=items, schedule={"runs": 3}) as made:
        made.scheduler("sched-1")
        for n in (1, 2, 3):
            made.runner(f"runner-{n}")
        assert made.cli("schedules", "run-now", SCHEDULE).returncode == 0
        wait_for(lambda: ledger_state(made.db_url).get("done", 0) > 0, 120, "work to begin")
        shown = made.cli("status", "--json", "--beat", "1")
        finish(made, items, 240)
        runs = [r for r in runs_of(made.db_url) if r["bot"] == "counting-bot"]
    assert_exactly_once(made, items)
    assert len(runs) == 3 and all(r["status"] == RunStatus.SUCCEEDED.value for r in runs)
    assert sorted(r["trigger"].split(":")[0] for r in runs) == ["part", "part", "run-now"]
    done_by = sorted(json.loads(r["counts"])["done"] for r in runs)
    assert sum(done_by) == items
    assert done_by[0] > 0, f"one run did nothing: {done_by}"
    # `borough status` on another machine saw every runner, its queues and its runs
    assert shown.returncode == 0, shown.stderr
    machines = {m["host"]: m for m in json.loads(shown.stdout)["machines"]}
    for n in (1, 2, 3):
        runner = machines[f"runner-{n}"]
        assert runner["state"] == "alive"
        assert runner["queues"] == ["app:counting", f"host:runner-{n}"]
    running = [run for m in machines.values() for run in m["runs"]]
    assert running and {run["bot"] for run in running} == {"counting-bot"}
