"""Ingest and a no-op bot against raw SQLite, in the same run.

Run on demand (not a test)::

    .venv/bin/python benchmarks/ingest.py [--rows 100000] [--noop 3000] [--batch 100]
        [--noop-only] [--repeat 3] [--dir PATH]

* **borough ingest**: a real installation, the counting bot reading ``--rows`` CSV rows
  (key token, personal values registered and tokenised, payload sealed, one
  ``item.ingested`` record per row, durable before its batch commits), ``run_bot`` with
  ``limit=0`` so no item is worked: the run's whole wall time;
* **pandas + executemany**: ``pandas.read_csv`` of the same file, then one ``executemany``
  of the same columns into a fresh SQLite table, committed once (the issue's baseline), and
  again with a commit every 500 rows;
* **no-op bot**: ``--noop`` items worked by a bot whose ``process`` does nothing (claim,
  intent durable before ``process``, done durable before its commit), one at a time
  (``batch: 1``, the default) and in batches of ``--batch`` (``batch: N``: N intents as
  one audit group and one transaction, N outcomes likewise): items/s of the whole run
  (it reads its input again: the rows are known, nothing is recorded twice), against the
  same ledger writes as raw SQLite statements without fsync, one transaction each.

Targets (issue 20): 100,000 rows < 10 s and within 3x of pandas + executemany; a no-op bot
>= 5,000 items/s durable.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def borough_ingest(root: Path, rows: int) -> tuple[float, float, Path]:
    """(wall seconds, CPU seconds of this process and its threads, the CSV file)."""
    from borough.runner import RunRequest, run_bot
    from borough.testing import runtime_in
    from tests.support.installs import counting_home, people

    home = counting_home(root / "ingest", people(rows), settings={})
    with runtime_in(home) as runtime:
        started, cpu = time.perf_counter(), time.process_time()
        run = run_bot(runtime, RunRequest("counting-bot", limit=0))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert run.counts.ingested == rows, run
    return seconds, cpu, home / "input" / "people.csv"


def pandas_executemany(csv_path: Path, where: Path, *, every: int | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds)."""
    import pandas as pd

    started, cpu = time.perf_counter(), time.process_time()
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    conn = sqlite3.connect(where / f"raw-{every}.sqlite")
    conn.execute("CREATE TABLE items (ref TEXT PRIMARY KEY, name TEXT, email TEXT, amount TEXT)")
    values = list(frame.itertuples(index=False, name=None))
    step = every or len(values)
    for start in range(0, len(values), step):
        conn.executemany("INSERT INTO items VALUES (?, ?, ?, ?)", values[start : start + step])
        conn.commit()
    conn.close()
    return time.perf_counter() - started, time.process_time() - cpu


def noop_rate(root: Path, count: int, batch: int = 1, n: int = 0) -> tuple[float, float, float]:
    """Items/s of the whole run, of its work (from the first claim to the run's end), and
    per second of this process's CPU over the whole run (what a machine not shared with
    other work would reach where fsync is cheap)."""
    from borough.observe import RunObserver
    from borough.runner import RunRequest, run_bot
    from borough.testing import runtime_in
    from tests.support import bots
    from tests.support.installs import counting_home, people

    def nothing(self: Any, ctx: Any, item: Any) -> None:
        return None

    class WorkClock(RunObserver):
        work_started = 0.0

        def on_work_started(self, pending: int) -> None:
            self.work_started = time.perf_counter()

    bots.CountingBot.process = nothing  # type: ignore[method-assign]
    home = counting_home(
        root / f"noop-{batch}-{n}", people(count), settings={}, bot_options={"batch": batch}
    )
    clock = WorkClock()
    with runtime_in(home) as runtime:
        run_bot(runtime, RunRequest("counting-bot", limit=0))  # ingest first, not timed
        started, cpu = time.perf_counter(), time.process_time()
        run = run_bot(runtime, RunRequest("counting-bot"), clock)
        ended, cpu = time.perf_counter(), time.process_time() - cpu
    assert run.counts.done == count, run.counts
    return count / (ended - started), count / (ended - clock.work_started), count / cpu


def raw_item_writes(where: Path, count: int) -> float:
    """The no-op bot's ledger writes (claim, intent, done) as plain SQLite, no fsync."""
    conn = sqlite3.connect(where / "raw-items.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, state TEXT, fence INTEGER)")
    conn.executemany("INSERT INTO items VALUES (?, 'pending', 0)", [(i,) for i in range(count)])
    started = time.perf_counter()
    for i in range(count):
        for state in ("claimed", "in_flight", "done"):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE items SET state = ?, fence = fence + 1 WHERE id = ?", (state, i))
            conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--noop", type=int, default=3_000)
    parser.add_argument("--batch", type=int, default=100, help="the no-op bot's batch: N")
    parser.add_argument("--noop-only", action="store_true", help="skip the ingest figures")
    parser.add_argument("--repeat", type=int, default=3, help="no-op runs of batch: N (median)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        if not args.noop_only:
            ingest_figures(root, args.rows)
        if args.noop:
            noop_figures(root, args.noop, args.batch, args.repeat)


def ingest_figures(root: Path, rows: int) -> None:
    seconds, cpu, csv_path = borough_ingest(root, rows)
    import pandas  # noqa: F401  (imported before timing the baseline, as borough was)

    once, once_cpu = pandas_executemany(csv_path, root, every=None)
    batched, batched_cpu = pandas_executemany(csv_path, root, every=500)
    print(f"ingest of {rows:,} CSV rows ({root}), wall and CPU seconds:")
    print(f"  borough                        {seconds:7.2f} s  CPU {cpu:7.2f} s")
    print(
        f"  pandas + executemany           {once:7.2f} s  CPU {once_cpu:7.2f} s   "
        f"borough {seconds / once:5.1f} x wall, {cpu / once_cpu:5.1f} x CPU"
    )
    print(
        f"  pandas + executemany, 500/txn  {batched:7.2f} s  CPU {batched_cpu:7.2f} s   "
        f"borough {seconds / batched:5.1f} x wall, {cpu / batched_cpu:5.1f} x CPU"
    )


def noop_figures(root: Path, count: int, batch: int, repeat: int) -> None:
    """batch: 1 once (slow), batch: N ``repeat`` times: the median of each figure."""
    raw = raw_item_writes(root, count)
    print(f"no-op bot, {count:,} items ({root}), batch: {batch} the median of {repeat} runs:")
    print(f"  raw SQLite, same writes, no fsync   {raw:7.0f} items/s")
    for size in sorted({1, batch}):
        runs = [noop_rate(root, count, size, n) for n in range(1 if size == 1 else repeat)]
        whole, work, cpu = (statistics.median(figures) for figures in zip(*runs, strict=True))
        print(
            f"  borough (durable), batch: {size:<5}   {whole:7.0f} items/s "
            f"({work:5.0f}/s once ingest is done; {cpu:5.0f} per CPU second)   "
            f"{whole / raw:5.3f} x raw"
        )


if __name__ == "__main__":
    main()
