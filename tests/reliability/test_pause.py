"""SIGSTOP a real run longer than its lease at a random moment, start a second run, SIGCONT.

On one host the paused run is alive, so nobody reaps it: the second run leaves its items
alone and both finish. On two hosts (``BOROUGH_HOST``) the second run reaps the silent
first one after the lease and the grace and adopts its items; the first, once awake,
finds itself fenced and stops before any further intent. Either way every row reaches
the target exactly once, nothing is left CLAIMED or IN_FLIGHT, and a fenced run is never
SUCCEEDED. (BOROUGH_RELIABILITY_SCALE=N runs N times as many trials.)
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from borough.testing import counted_writes
from tests.support.installs import people
from tests.support.reliability import (
    TIMEOUT,
    audit_records,
    count_action,
    finish,
    in_parallel,
    item_states,
    locks_held,
    ready_home,
    reaped,
    run_statuses,
    scaled,
    start_run,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(TIMEOUT)]

ROWS = 30
LEASE, GRACE, HEARTBEAT = 2.0, 1.0, 0.25
SETTINGS = {"pause_seconds": 0.02, "pause_after_seconds": 0.02}
LEDGER = {
    "ledger": {
        "lease_seconds": LEASE,
        "heartbeat_seconds": HEARTBEAT,
        "adopt_grace_seconds": GRACE,
    },
    "audit": {"checkpoint_every": 50},
}
ONE_HOST_HOMES, PAUSES_PER_HOME = 5, 5  # 25 pauses of one long run per home
TWO_HOST_TRIALS = 25


@dataclass
class Outcome:
    """What a home looks like once every run in it has ended."""

    label: str
    first: str  # run id of the (first) paused run
    first_code: int
    first_output: str
    first_status: str
    pauses: int
    fenced: bool
    reaped: bool
    duplicates: dict[str, int]
    missing: set[str]
    left: dict[str, int]  # items not DONE/FAILED at the end

    def where(self) -> str:
        return f"{self.label}: {self.first_output[-600:]}"


def second_run_started(home: Path, runs_before: int) -> bool:
    return count_action(home, "run.start") > runs_before


def pause_and_start_another(
    home: Path,
    first: subprocess.Popen[bytes],
    rng: random.Random,
    *,
    silent: float,
    host: str | None,
    extra: tuple[str, ...] = (),
) -> tuple[int, str]:
    """SIGSTOP ``first`` for ``silent`` s, start a run, SIGCONT at a random moment of it."""
    runs_before = count_action(home, "run.start")
    first.send_signal(signal.SIGSTOP)
    time.sleep(silent)
    blocked = locks_held(home)  # stopped mid-transaction: the other run cannot even start
    other = start_run(home, host=host, extra=extra)
    with reaped(other):
        if not blocked:
            wait_for(lambda: second_run_started(home, runs_before), timeout=90, what="a run")
        time.sleep(rng.uniform(0.0, 1.5))
        first.send_signal(signal.SIGCONT)
        return finish(other)


def settle_and_look(
    home: Path, rows: list[dict[str, object]], label: str, first: tuple[int, str], pauses: int
) -> Outcome:
    """Run once more if anything is left unsettled, then read target, ledger and trail."""
    if set(item_states(home)) - {"done", "failed"}:  # a fenced run left its item behind
        third = start_run(home, host="host-b")
        with reaped(third):
            code, output = finish(third)
        assert code in (0, 1), output
    records = audit_records(home)
    first_id = next(r["run_id"] for r in records if r["action"] == "run.start")
    writes = counted_writes(home / "var/target.sqlite")
    return Outcome(
        label=label,
        first=first_id,
        first_code=first[0],
        first_output=first[1],
        first_status=run_statuses(home)[first_id],
        pauses=pauses,
        fenced=any(r["action"] == "run.fenced" and r["run_id"] == first_id for r in records),
        reaped=any(r["action"] == "run.reaped" and r["run_id"] == first_id for r in records),
        duplicates={key: n for key, n in writes.items() if n != 1},
        missing={str(row["Ref"]) for row in rows} - set(writes),
        left={s: n for s, n in item_states(home).items() if s not in ("done", "failed")},
    )


def one_host_home(root: Path, seed: int) -> Outcome:
    """One long run paused again and again; each time another run starts and works a bit."""
    rng = random.Random(seed)
    rows = people(ROWS * 5)
    home = ready_home(root / f"home-{seed}", rows, settings=SETTINGS, borough=LEDGER)
    first = start_run(home)
    pauses = 0
    with reaped(first):
        wait_for(lambda: count_action(home, "run.start") >= 1, timeout=90, what="the run")
        for _ in range(PAUSES_PER_HOME):
            time.sleep(rng.uniform(0.1, 0.8))  # a random moment of its ingest or its work
            if first.poll() is not None:
                break
            code, output = pause_and_start_another(
                home,
                first,
                rng,
                silent=LEASE + rng.uniform(0.5, 1.5),
                host=None,
                extra=("--max-items", "2"),
            )
            assert code in (0, 1), output
            pauses += 1
        ended = finish(first)
    return settle_and_look(home, rows, f"home {seed}", ended, pauses)


def two_host_trial(root: Path, seed: int) -> Outcome:
    """A run of host-a paused beyond lease + grace while a run of host-b starts."""
    rng = random.Random(seed)
    rows = people(ROWS)
    home = ready_home(root / f"trial-{seed}", rows, settings=SETTINGS, borough=LEDGER)
    first = start_run(home, host="host-a")
    with reaped(first):
        wait_for(lambda: count_action(home, "run.start") >= 1, timeout=90, what="the run")
        time.sleep(rng.uniform(0.0, 1.5))  # a random moment of its ingest or its work
        code, output = pause_and_start_another(
            home, first, rng, silent=LEASE + GRACE + rng.uniform(0.5, 1.5), host="host-b"
        )
        assert code in (0, 1), output
        ended = finish(first)
    return settle_and_look(home, rows, f"trial {seed}", ended, 1)


def check_exactly_once(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        assert outcome.duplicates == {}, f"duplicates {outcome.duplicates}; {outcome.where()}"
        assert outcome.missing == set(), f"lost {sorted(outcome.missing)}; {outcome.where()}"
        assert outcome.left == {}, f"left behind {outcome.left}; {outcome.where()}"
        if outcome.fenced:
            assert outcome.first_status == "failed", outcome.where()
            assert outcome.first_code == 3, outcome.where()


def test_a_paused_run_on_this_host_is_never_reaped_and_nothing_is_done_twice(tmp_path: Path):
    outcomes = in_parallel(lambda n: one_host_home(tmp_path, 1000 + n), scaled(ONE_HOST_HOMES))
    check_exactly_once(outcomes)
    for outcome in outcomes:
        assert not outcome.reaped and not outcome.fenced, outcome.where()
        assert outcome.first_status == "succeeded", outcome.where()
        assert outcome.first_code == 0, outcome.where()
    pauses = sum(outcome.pauses for outcome in outcomes)
    assert pauses >= scaled(ONE_HOST_HOMES * PAUSES_PER_HOME) * 0.8, f"only {pauses} pauses"


def test_a_paused_run_of_another_host_fences_itself_and_nothing_is_done_twice(tmp_path: Path):
    outcomes = in_parallel(lambda n: two_host_trial(tmp_path, 2000 + n), scaled(TWO_HOST_TRIALS))
    check_exactly_once(outcomes)
    fenced = [outcome for outcome in outcomes if outcome.fenced]
    # a run stopped inside a ledger transaction holds SQLite's write lock: nobody can reap
    # it until it wakes (then it renews first); otherwise it must have been fenced
    assert len(fenced) >= len(outcomes) // 4, f"only {len(fenced)} of {len(outcomes)} fenced"
    assert all(outcome.reaped for outcome in fenced)
