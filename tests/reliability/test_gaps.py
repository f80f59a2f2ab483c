"""Nothing in the ledger without its audit record, whenever a run is killed.

Every ledger change is written to the trail (fsynced) before the ledger commits it, so a
kill -9 at any moment leaves both or only the record: never a DONE item without
``item.done``, never an item without ``item.ingested``, and a run killed just after its
``run.end`` keeps the outcome it recorded. ``borough ledger reconcile`` repairs ledgers
written before this rule, once.
"""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from borough import Item
from borough.ingest import describe
from borough.ledger import ItemState, RunStatus
from borough.registry import load_bot
from borough.testing import counted_writes, runtime_in
from tests.support.bots import Person
from tests.support.installs import people
from tests.support.reliability import (
    TIMEOUT,
    Kills,
    after,
    audit_records,
    finish,
    in_order,
    in_parallel,
    ledger_rows,
    ready_home,
    scaled,
    start,
    start_run,
    unaccounted,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(TIMEOUT)]


def kill_trial(root: Path, seed: int) -> tuple[list[str], int, Kills]:
    rng = random.Random(seed)
    rows = people(40, bad_every=9)
    home = ready_home(
        root / f"home-{seed}",
        rows,
        settings={"pause_seconds": 0.01, "pause_after_seconds": 0.02},
        target={"fail_before_rate": 0.05, "fail_after_rate": 0.05, "seed": seed},
        borough={"audit": {"checkpoint_every": 50}},
    )
    problems: list[str] = []
    kills = Kills(rng)
    for round_ in range(4):
        # in the ingest (40 item.ingested) or the work (an item.intent, an item.done each)
        work = after(home, "item.ingested", "item.intent", "item.done", more=rng.randint(0, 60))
        started = after(home, "run.start")
        kills.at(start_run(home), in_order(started, work), what="records", jitter=0.02)
        problems += [f"after kill {round_ + 1}: {p}" for p in unaccounted(home)]
    code, output = finish(start_run(home))
    assert code in (0, 1), output
    problems += unaccounted(home)
    valid = {row["Ref"] for row in rows if row["Amount"] != "lots"}
    writes = counted_writes(home / "var/target.sqlite")
    assert set(writes) == valid and all(n == 1 for n in writes.values()), writes
    return problems, len(ledger_rows(home, "SELECT id FROM borough_items")), kills


def test_kill_9_at_random_moments_leaves_no_state_without_its_record(tmp_path: Path):
    outcomes = in_parallel(lambda n: kill_trial(tmp_path, 100 + n), scaled(4))
    for problems, items, kills in outcomes:
        print(kills.report())
        assert problems == []
        assert items == 40
    assert sum(kills.landed for *_, kills in outcomes) >= len(outcomes)


def kill_after_run_end(root: Path, seed: int) -> tuple[bool, str, dict[str, Any], str]:
    """Kill the run the moment its run.end is in the trail; reconcile; its run's row."""
    home = ready_home(root / f"end-{seed}", people(5), borough={"audit": {"checkpoint_every": 50}})
    caught = False

    def commit_pending() -> None:  # recorded, not yet committed?
        nonlocal caught
        try:
            [(status,)] = ledger_rows(home, "SELECT status FROM borough_runs", timeout=0)
        except sqlite3.OperationalError:  # the stopped run holds the ledger's lock: mid-commit
            caught = True
            return
        caught = status == "running"

    Kills().at(
        start_run(home),
        after(home, "run.end"),
        what="run.end",
        poll=0.0005,
        stopped=commit_pending,
    )
    code, output = finish(start(home, "ledger", "reconcile"))
    assert code == 0, output
    [(status, counts, seq)] = ledger_rows(
        home, "SELECT status, counts, audit_seq_end FROM borough_runs"
    )
    end = next(r for r in audit_records(home) if r["action"] == "run.end")
    assert seq is not None and seq >= end["seq"]
    return caught, status, json.loads(counts), end["outcome"]


def test_a_run_killed_just_after_run_end_keeps_its_real_outcome(tmp_path: Path):
    outcomes = in_parallel(lambda n: kill_after_run_end(tmp_path, n), scaled(8))
    for _caught, status, counts, recorded in outcomes:
        assert status == recorded == RunStatus.SUCCEEDED.value
        assert counts["done"] == 5
    assert any(caught for caught, *_ in outcomes), "no kill landed before the commit"


def test_reconcile_fills_the_gaps_of_an_old_ledger_once(tmp_path: Path):
    home = ready_home(tmp_path / "home", people(6), borough={"audit": {"checkpoint_every": 50}})
    code, output = finish(start_run(home))
    assert code == 0, output
    with runtime_in(home) as runtime:  # what a borough before write-ahead could leave
        ledger = runtime.ledger
        bot = load_bot("counting-bot", runtime.config)
        run = ledger.runs.create("counting-bot", "1.0.0")
        extra = [
            describe(runtime, bot, Item(key=row["Ref"], data=Person.model_validate(row)))
            for row in people(9)[6:]
        ]
        ledger.items.ingest("counting-bot", run.id, extra)  # no item.ingested
        claim = ledger.items.mark_in_flight(ledger.items.claim_next("counting-bot", run.id))
        ledger.items.finish(claim, ItemState.DONE, reference="REF-OLD")  # no item.done
        ledger.runs.finish(run.id, RunStatus.CRASHED, error="old scheduler")  # no end record
    assert len(unaccounted(home)) == 5
    code, output = finish(start(home, "ledger", "reconcile", "--dry-run"))
    assert code == 0 and "5 record(s) would be written" in " ".join(output.split()), output
    assert len(unaccounted(home)) == 5
    code, output = finish(start(home, "ledger", "reconcile"))
    assert code == 0 and "5 reconstruction record(s) written" in " ".join(output.split()), output
    assert unaccounted(home) == []
    rebuilt = [r for r in audit_records(home) if (r.get("detail") or {}).get("reconstructed")]
    assert len(rebuilt) == 5 and {r["actor"] for r in rebuilt} == {"borough"}
    assert {r["action"] for r in rebuilt} == {"item.ingested", "item.done", "run.end"}
    lines = len(audit_records(home))
    code, output = finish(start(home, "ledger", "reconcile"))
    assert code == 0 and "accounts for every ledger state" in output, output
    assert len(audit_records(home)) == lines, "a second pass writes nothing"
    code, output = finish(start(home, "audit", "verify"))
    assert code == 0, output
