"""Check-first and save-later bots under kill -9 at random moments: 0 lost, 0 duplicated.

Real ``borough run`` processes against the write-counting target, killed (SIGKILL) at
random moments and, for save-later bots, right after a ``batch.intent`` (between the
intent of a save and the items' ``item.done``), then run to the end:

* a check-first bot on a **brand-new ledger** against a target that already holds half the
  items (written by another installation): none of those is written again;
* a save-later bot (the counting target's ``save_later``: creates are held in memory until
  ``save()``, so a kill loses every unsaved change) saving every 5 items;
* both together, on a new ledger against a half-full target.

After every kill no ledger state lacks its audit record; at the end every valid row is in
the target exactly once and DONE in the ledger, nothing is left CLAIMED or IN_FLIGHT.
CI runs 64 kill rounds (at least 50 land before their run ends, asserted);
``BOROUGH_RELIABILITY_SCALE=N`` runs N times the trials.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from borough.testing import counted_writes
from tests.support.installs import people
from tests.support.reliability import (
    SCALE,
    TIMEOUT,
    Kills,
    Point,
    after,
    audit_records,
    finish,
    in_order,
    in_parallel,
    item_states,
    ready_home,
    reaped,
    scaled,
    start_run,
    unaccounted,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(TIMEOUT)]

ROWS = 40


@dataclass
class Trial:
    kills: Kills
    problems: list[str] = field(default_factory=list)
    mid_save: int = 0  # kills that landed after a batch.intent, before all its item.done


def hold_half(target: Path, rows: list[dict[str, Any]]) -> set[str]:
    """Write every other valid row into the target, as another installation would have."""
    held = {row["Ref"] for row in rows[::2] if row["Amount"] != "lots"}
    with sqlite3.connect(target) as db:
        db.execute("CREATE TABLE records (key TEXT, reference TEXT, payload TEXT, pid INT)")
        db.executemany(
            "INSERT INTO records VALUES (?, ?, ?, 0)",
            [(key, f"OLD-{n:06d}", "migrated") for n, key in enumerate(sorted(held), 1)],
        )
    return held


def unsaved_batches(home: Path) -> int:
    """batch.intent records some of whose items have no item.done yet."""
    records = audit_records(home)
    done = {r["item"] for r in records if r["action"] == "item.done"}
    return sum(
        1
        for r in records
        if r["action"] == "batch.intent" and not set(r["detail"]["items"]) <= done
    )


def progress(home: Path, more: int) -> Point:
    """After ``more`` more item records (intents and dones): a moment tied to the work,
    not the clock (a quick run outruns any fixed sleep)."""
    return after(home, "item.intent", "item.done", more=more)


def trial(root: Path, seed: int, *, bot: str, new_ledger: bool, save_later: bool) -> Trial:
    rng = random.Random(seed)
    rows = people(ROWS, bad_every=9)
    target = root / f"target-{seed}.sqlite"
    held = hold_half(target, rows) if new_ledger else set()
    options: dict[str, Any] = {"check_first": True} if new_ledger else {}
    home = ready_home(
        root / f"home-{seed}",
        rows,
        bot=bot,
        settings={"pause_seconds": 0.005, "save_pause_seconds": 0.02},
        target={"path": str(target), "save_later": save_later, "seed": seed},
        bot_options=options,
        borough={"audit": {"checkpoint_every": 50}},
    )
    result = Trial(Kills(rng))
    for round_ in range(8):
        started = after(home, "run.start")
        if save_later and round_ % 2:  # in the save, or among the item.done records
            point, what, jitter = after(home, "batch.intent"), "a batch.intent", 0.03
        else:  # ingest, an item, a save, the very end
            point, what, jitter = progress(home, rng.randint(0, 4)), "item records", 0.05
        proc = start_run(home, bot)
        with reaped(proc):
            if result.kills.at(proc, in_order(started, point), what=what, jitter=jitter):
                result.mid_save += unsaved_batches(home) > 0
        result.problems += [f"after kill {round_ + 1}: {p}" for p in unaccounted(home)]
    code, output = finish(start_run(home, bot))
    assert code in (0, 1), output
    result.problems += unaccounted(home)
    valid = {row["Ref"] for row in rows if row["Amount"] != "lots"}
    writes = counted_writes(target)
    if set(writes) != valid:
        result.problems.append(f"lost: {sorted(valid - set(writes))}")
    twice = {key: n for key, n in writes.items() if n != 1}
    if twice:
        result.problems.append(f"written more than once: {twice}")
    states = item_states(home, bot)
    if states != {"done": len(valid), "failed": ROWS - len(valid)}:
        result.problems.append(f"ledger states at the end: {states}")
    if held:
        found = [r for r in audit_records(home) if (r.get("detail") or {}).get("found_first")]
        if len(found) < len(held) - result.kills.landed:  # a kill can land between check and done
            result.problems.append(f"only {len(found)} of {len(held)} held items found first")
    return result


def run_trials(tmp_path: Path, count: int, **kind: Any) -> list[Trial]:
    trials = in_parallel(lambda n: trial(tmp_path, 300 + n, **kind), scaled(count))
    mid_save = sum(t.mid_save for t in trials)
    print(f"{kind}: {len(trials)} trials, {mid_save} kill(s) inside a save")
    for t in trials:
        print(t.kills.report())
    return trials


def test_check_first_on_a_new_ledger_against_a_half_full_target_under_kill_9(tmp_path: Path):
    trials = run_trials(tmp_path, 3, bot="counting-bot", new_ledger=True, save_later=False)
    assert [t.problems for t in trials] == [[]] * len(trials)
    assert sum(t.kills.landed for t in trials) >= 18 * SCALE


def test_a_save_later_bot_under_kill_9_loses_and_duplicates_nothing(tmp_path: Path):
    trials = run_trials(tmp_path, 3, bot="saving-bot", new_ledger=False, save_later=True)
    assert [t.problems for t in trials] == [[]] * len(trials)
    assert sum(t.kills.landed for t in trials) >= 18 * SCALE
    assert sum(t.mid_save for t in trials) > 0, "no kill landed inside a save"


def test_check_first_and_save_later_on_a_new_ledger_under_kill_9(tmp_path: Path):
    trials = run_trials(tmp_path, 2, bot="saving-bot", new_ledger=True, save_later=True)
    assert [t.problems for t in trials] == [[]] * len(trials)
    assert sum(t.kills.landed for t in trials) >= 14 * SCALE  # 50 kills at least in all
