"""Hostile trials with real ``borough run`` processes: pause, kill, start many at once.

Trial counts are small enough for CI; ``BOROUGH_RELIABILITY_SCALE=N`` multiplies them
(e.g. ``BOROUGH_RELIABILITY_SCALE=4`` for a long soak), and
``BOROUGH_RELIABILITY_PARALLEL`` sets how many trials run at once (default 4).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from borough.testing import home_env, runtime_in
from tests.support.installs import counting_home

ROOT = Path(__file__).resolve().parents[2]
SCALE = max(1, int(os.environ.get("BOROUGH_RELIABILITY_SCALE", "1")))
PARALLEL = max(1, int(os.environ.get("BOROUGH_RELIABILITY_PARALLEL", "4")))
T = TypeVar("T")


#: pytest-timeout for a reliability test: generous, as the machine may be shared and busy.
TIMEOUT = 600 * SCALE


def scaled(count: int) -> int:
    """``count`` trials, times ``BOROUGH_RELIABILITY_SCALE``."""
    return count * SCALE


def in_parallel(trial: Callable[[int], T], count: int) -> list[T]:
    """Run ``trial(0..count-1)`` on ``PARALLEL`` threads (each trial drives processes)."""
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(trial, range(count)))


def ready_home(root: Path, rows: list[dict[str, Any]], **options: Any) -> Path:
    """A counting home whose keys already exist (so concurrent first starts share them)."""
    home = counting_home(root, rows, **options)
    with runtime_in(home):
        pass
    return home


def borough_env(home: Path, host: str | None = None) -> dict[str, str]:
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)}
    env.pop("BOROUGH_HOST", None)
    if host is not None:
        env["BOROUGH_HOST"] = host
    return env


def start(
    home: Path, *args: str, host: str | None = None, stderr: Any = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    """``borough ARGS...`` in ``home`` (as host ``host``), output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "borough", *args],
        env=borough_env(home, host),
        stdout=subprocess.PIPE,
        stderr=stderr,
    )


def start_run(
    home: Path, bot: str = "counting-bot", *, host: str | None = None, extra: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    return start(home, "run", bot, "--quiet", *extra, host=host)


def finish(proc: subprocess.Popen[bytes], timeout: float = 180) -> tuple[int, str]:
    """Wait for ``proc``; its exit code and its output (stdout + stderr)."""
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, ((out or b"") + (err or b"")).decode("utf-8", errors="replace")


@contextlib.contextmanager
def reaped(*procs: subprocess.Popen[bytes]) -> Iterator[None]:
    """Whatever happens, no process of the trial is left behind (stopped ones included)."""
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGCONT)
                    proc.kill()
                proc.communicate(timeout=30)


def audit_records(home: Path) -> list[dict[str, Any]]:
    log = home / "logs" / "audit" / "audit.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text("utf-8").splitlines() if line.strip()]


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, poll: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


def count_action(home: Path, action: str) -> int:
    log = home / "logs" / "audit" / "audit.jsonl"
    if not log.exists():
        return 0
    return log.read_text("utf-8").count(f'"action":"{action}"')


#: A point the work reaches (a record in the trail, a file on disk...): true once reached.
Point = Callable[[], bool]


def after(home: Path, *actions: str, more: int = 1) -> Point:
    """Reached once the trail holds ``more`` more ``actions`` records (summed) than now."""
    goal = sum(count_action(home, action) for action in actions) + more
    return lambda: sum(count_action(home, action) for action in actions) >= goal


def in_order(*points: Point) -> Point:
    """Reached once each of ``points`` was reached, one after the other."""
    pending = list(points)

    def reached() -> bool:
        while pending and pending[0]():
            pending.pop(0)
        return not pending

    return reached


@dataclass
class Kills:
    """SIGKILL processes when their work reaches a point, never after a blind sleep.

    A process that ended before its point (or within the jitter after it) was not killed:
    it is listed in ``missed`` and not counted in ``landed``, so a test asserting "N kills
    landed" proves N processes died mid-work, however fast or slow the machine is.
    """

    rng: random.Random = field(default_factory=random.Random)
    landed: int = 0
    missed: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def at(
        self,
        proc: subprocess.Popen[bytes],
        point: Point,
        *,
        what: str,
        jitter: float = 0.0,
        timeout: float = 120,
        poll: float = 0.002,
        stopped: Callable[[], object] | None = None,
    ) -> bool:
        """Kill ``proc`` once ``point`` is reached, plus a random ``0..jitter`` s; reap it
        (its output goes to ``outputs``). True if the kill landed while it worked.

        ``stopped`` is called with the process frozen (SIGSTOP) at that moment, to look at
        what it left before the kill."""
        deadline = time.monotonic() + timeout
        while not point():
            if proc.poll() is not None:
                return self._missed(proc, f"ended before {what}")
            if time.monotonic() > deadline:
                proc.kill()
                finish(proc)
                raise AssertionError(f"{what} not reached within {timeout:g} s")
            time.sleep(poll)
        if jitter:
            time.sleep(self.rng.uniform(0.0, jitter))
        if proc.poll() is not None:
            return self._missed(proc, f"ended within {jitter:g} s after {what}")
        if stopped is not None:
            proc.send_signal(signal.SIGSTOP)
            stopped()
        proc.send_signal(signal.SIGKILL)
        self.landed += 1
        self.outputs.append(finish(proc)[1])
        return True

    def _missed(self, proc: subprocess.Popen[bytes], why: str) -> bool:
        self.missed.append(why)
        self.outputs.append(finish(proc)[1])
        return False

    def report(self) -> str:
        """One line for the test log: kills landed and points missed (and why)."""
        missed = "; ".join(sorted(set(self.missed))) or "none"
        return f"{self.landed} kill(s) landed, {len(self.missed)} missed ({missed})"


def ledger_rows(home: Path, query: str, *params: Any, timeout: float = 60) -> list[tuple[Any, ...]]:
    """Rows straight from the SQLite ledger file (no secrets needed)."""
    ledger = home / "var" / "ledger.sqlite"
    with contextlib.closing(sqlite3.connect(ledger, timeout=timeout)) as db:
        return list(db.execute(query, params).fetchall())


def item_states(home: Path, bot: str = "counting-bot") -> dict[str, int]:
    rows = ledger_rows(
        home, "SELECT state, COUNT(*) FROM borough_items WHERE bot = ? GROUP BY state", bot
    )
    return {state: count for state, count in rows}


def run_statuses(home: Path) -> dict[str, str]:
    return dict(ledger_rows(home, "SELECT id, status FROM borough_runs"))


def locks_held(home: Path) -> bool:
    """True if some process holds the ledger's write lock or the trail's append lock now.

    A process stopped while holding one blocks every other run until it wakes (SQLite has
    one writer at a time): tests use this to tell "blocked" from "slow to start".
    """
    with contextlib.closing(sqlite3.connect(home / "var" / "ledger.sqlite", timeout=0)) as db:
        db.isolation_level = None
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        db.execute("ROLLBACK")
    log = home / "logs" / "audit" / "audit.jsonl"
    with open(log, "ab") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return False


ENDS = {"run.end", "run.reaped", "run.dry_run", "run.crashed", "run.failed", "run.cancelled"}


def unaccounted(home: Path) -> list[str]:
    """Ledger states with no record in the trail (read from the files, no secrets needed)."""
    records = audit_records(home)
    ingested = {(r["bot"], r["item"]) for r in records if r["action"] == "item.ingested"}
    done = {
        (r["bot"], r["item"])
        for r in records
        if r["action"] == "item.done" or (r["action"] == "item.resolved" and r["outcome"] == "done")
    }
    ended = {r["run_id"] for r in records if r["action"] in ENDS}
    problems = []
    for item_id, bot, token, state in ledger_rows(
        home, "SELECT id, bot, key_token, state FROM borough_items"
    ):
        if (bot, token) not in ingested:
            problems.append(f"item {item_id} has no item.ingested")
        if state == "done" and (bot, token) not in done:
            problems.append(f"item {item_id} is DONE without item.done")
    for run_id, status in ledger_rows(home, "SELECT id, status FROM borough_runs"):
        if status not in ("running", "queued") and run_id not in ended:
            problems.append(f"run {run_id} is {status.upper()} without an end record")
    return problems
