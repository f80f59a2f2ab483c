"""Item batches (``batch: N``) under kill -9 and pauses: 0 lost, 0 duplicated.

Real ``borough run`` processes of the counting bot with ``batch: 8`` against the
write-counting target (some writes fail before or after committing, some rows break a
business rule), killed (SIGKILL) at three kinds of moment, round after round:

* **in the intent group**: right after a batch's ``item.intent`` records reach the file
  (the group's fsync is slowed to 30 ms, so the kill often lands before the ledger
  commits them: items CLAIMED in the ledger, their intents in the trail);
* **while the batch is processed**: items IN_FLIGHT, some written to the target;
* **in the finish group**: right after a batch's outcome records reach the file (before
  their fsync and the ledger commit: items IN_FLIGHT whose ``item.done`` is in the trail).

After every kill no ledger state lacks its audit record; at the end every valid row is in
the target exactly once and DONE, every bad row FAILED, nothing CLAIMED or IN_FLIGHT. A
batch paused past lease + grace while a run of another host takes over fences itself
(the trial helpers of test_pause). ``BOROUGH_RELIABILITY_SCALE=N`` runs N times the trials.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from borough.testing import counted_writes
from tests.reliability.test_pause import (
    GRACE,
    LEASE,
    LEDGER,
    SETTINGS,
    check_exactly_once,
    pause_and_start_another,
    settle_and_look,
)
from tests.support.installs import people
from tests.support.reliability import (
    SCALE,
    TIMEOUT,
    audit_records,
    borough_env,
    count_action,
    finish,
    in_parallel,
    item_states,
    ledger_rows,
    ready_home,
    reaped,
    scaled,
    start_run,
    unaccounted,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(TIMEOUT)]

ROWS = 120
BATCH = 8
ROUNDS = 9
KINDS = ("intent", "processing", "finish")

#: ``borough run`` with every fsync of Python code (the trail's group commits) 30 ms slower
SLOW_FSYNC = (
    "import os, runpy, time\n"
    "fsync = os.fsync\n"
    "def slow(fd):\n"
    "    time.sleep(0.03)\n"
    "    fsync(fd)\n"
    "os.fsync = slow\n"
    "runpy.run_module('borough', run_name='__main__', alter_sys=True)\n"
)


@dataclass
class Trial:
    kills: int = 0
    landed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    problems: list[str] = field(default_factory=list)


def start_slow_run(home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", SLOW_FSYNC, "run", "counting-bot", "--quiet"],
        env=borough_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_more(home: Path, proc: Any, action: str) -> None:
    before = count_action(home, action)

    def more() -> bool:
        return count_action(home, action) > before or proc.poll() is not None

    wait_for(more, timeout=90, what=f"more {action} records", poll=0.002)


def kill_point(home: Path, proc: Any, kind: str, rng: random.Random) -> None:
    """Sleep until the moment of ``kind`` (see the module docstring)."""
    if kind == "finish":
        wait_for_more(home, proc, "item.done")
        time.sleep(rng.uniform(0.0, 0.02))
    else:
        wait_for_more(home, proc, "item.intent")
        delay = (0.0, 0.02) if kind == "intent" else (0.035, 0.08)
        time.sleep(rng.uniform(*delay))


def what_was_cut(home: Path) -> set[str]:
    """Which moments of a batch the last kill left behind (ledger against trail)."""
    records = audit_records(home)
    intents = {(r["item"], r["attempt"]) for r in records if r["action"] == "item.intent"}
    done = {r["item"] for r in records if r["action"] == "item.done"}
    held = ledger_rows(
        home,
        "SELECT key_token, state, attempt FROM borough_items "
        "WHERE state IN ('claimed', 'in_flight')",
    )
    cut = set()
    for token, state, attempt in held:
        if state == "claimed" and (token, attempt) in intents:
            cut.add("intent")  # its intent in the trail, not committed
        elif state == "in_flight" and token in done:
            cut.add("finish")  # its outcome in the trail, not committed
        elif state == "in_flight":
            cut.add("processing")
    return cut


def trial(root: Path, seed: int) -> Trial:
    rng = random.Random(seed)
    rows = people(ROWS, bad_every=9)
    for row in rows[5::11]:
        row["Amount"] = 999  # a business rule fails inside the batch
    home = ready_home(
        root / f"home-{seed}",
        rows,
        settings={"pause_seconds": 0.004},
        target={"seed": seed, "fail_before_rate": 0.05, "fail_after_rate": 0.05},
        retry={"attempts": 30, "backoff_seconds": 0.001, "max_backoff_seconds": 0.005},
        bot_options={"batch": BATCH},
        borough={"audit": {"checkpoint_every": 50}},
    )
    result = Trial()
    for round_ in range(ROUNDS):
        kind = KINDS[(round_ + seed) % len(KINDS)]
        runs_before = count_action(home, "run.start")
        proc = start_slow_run(home)
        with reaped(proc):

            def started(proc: Any = proc, before: int = runs_before) -> bool:
                return count_action(home, "run.start") > before or proc.poll() is not None

            wait_for(started, timeout=90, what="the run to start")
            kill_point(home, proc, kind, rng)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                result.kills += 1
                for cut in what_was_cut(home):
                    result.landed[cut] += 1
            finish(proc)
        result.problems += [f"after kill {round_ + 1} ({kind}): {p}" for p in unaccounted(home)]
    code, output = finish(start_run(home))
    assert code in (0, 1), output
    result.problems += unaccounted(home)
    valid = {row["Ref"] for row in rows if row["Amount"] not in ("lots", 999)}
    writes = counted_writes(home / "var/target.sqlite")
    if set(writes) != valid:
        result.problems.append(f"lost: {sorted(valid - set(writes))}")
    twice = {key: n for key, n in writes.items() if n != 1}
    if twice:
        result.problems.append(f"written more than once: {twice}")
    states = item_states(home)
    if states != {"done": len(valid), "failed": ROWS - len(valid)}:
        result.problems.append(f"ledger states at the end: {states}")
    return result


def test_batches_killed_in_the_intent_group_mid_batch_and_in_the_finish_group(tmp_path: Path):
    trials = in_parallel(lambda n: trial(tmp_path, 500 + n), scaled(4))
    assert [t.problems for t in trials] == [[]] * len(trials)
    kills = sum(t.kills for t in trials)
    landed = {kind: sum(t.landed[kind] for t in trials) for kind in KINDS}
    print(f"{len(trials)} trials, {kills} kills, cut: {landed}")
    assert kills >= 30 * SCALE
    assert all(landed.values()), f"some moment of a batch was never cut: {landed}"


def batch_pause_trial(root: Path, seed: int) -> Any:
    """A batch of host-a paused beyond lease + grace while a run of host-b starts."""
    rng = random.Random(seed)
    rows = people(40)
    home = ready_home(
        root / f"pause-{seed}",
        rows,
        settings=SETTINGS,
        borough=LEDGER,
        bot_options={"batch": BATCH},
    )
    first = start_run(home, host="host-a")
    with reaped(first):
        wait_for(lambda: count_action(home, "item.intent") >= 1, timeout=90, what="a batch")
        time.sleep(rng.uniform(0.0, 0.5))  # a random moment of a batch
        code, output = pause_and_start_another(
            home, first, rng, silent=LEASE + GRACE + rng.uniform(0.5, 1.5), host="host-b"
        )
        assert code in (0, 1), output
        ended = finish(first)
    return settle_and_look(home, rows, f"batch pause {seed}", ended, 1)


def test_a_batch_paused_past_its_lease_fences_itself_and_nothing_is_done_twice(tmp_path: Path):
    outcomes = in_parallel(lambda n: batch_pause_trial(tmp_path, 600 + n), scaled(8))
    check_exactly_once(outcomes)
    fenced = [outcome for outcome in outcomes if outcome.fenced]
    assert fenced, "no paused batch was taken over"
