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
  again with a commit every ingest batch (``borough.ingest.BATCH`` rows, as borough);
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


def plain_items(csv_path: Path, where: Path, *, every: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of writing the same rows as borough's items table holds
    them with plain Python: ``pandas.read_csv``, a key token and a subject token (HMAC-SHA256,
    base32), the payload sealed (AES-256-GCM), a digest, ``executemany`` into a table made
    from borough's own schema (its unique key and indexes) on the ledger's SQLite settings
    (WAL and its checkpoint interval, ``synchronous=FULL``, ``BEGIN IMMEDIATE``), committed
    every ``every`` rows. No audit record, no redaction, no validation: the floor any
    tokenised, sealed ingest stands on."""
    import pandas as pd
    from sqlalchemy import create_engine

    from borough.ledger.engine import WAL_CHECKPOINT_PAGES
    from borough.ledger.schema import items

    path = where / f"plain-items-{every}.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    items.create(engine)  # the same columns, unique key and indexes (not timed)
    engine.dispose()
    row_of = _plain_rows()

    started, cpu = time.perf_counter(), time.process_time()
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    columns = (
        "bot, key_token, state, attempt, fence, invalid, source, payload, digest, subjects, "
        "data_categories, first_run, last_run, created_at, updated_at"
    )
    sql = f"INSERT INTO {items.name} ({columns}) VALUES ({', '.join(['?'] * 15)})"
    rows: list[tuple[Any, ...]] = []

    def flush() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        rows.clear()

    for number, cells in enumerate(frame.itertuples(index=False), 2):
        rows.append(row_of(number, *cells))
        if len(rows) == every:
            flush()
    if rows:
        flush()
    conn.close()
    return time.perf_counter() - started, time.process_time() - cpu


def _plain_rows() -> Any:
    """A function making one items-table row of a people.csv row, in plain Python."""
    import base64
    import hmac
    import json
    import os
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, gcm = os.urandom(32), AESGCM(os.urandom(32))

    def token(value: str) -> str:
        mac = hmac.digest(key, "".join(value.casefold().split()).encode(), "sha256")
        return "p_" + base64.b32encode(mac[:15]).decode().lower()

    def row(number: int, ref: str, name: str, email: str, amount: str) -> tuple[Any, ...]:
        data = {"ref": ref, "name": name, "email": email, "amount": int(amount)}
        text = json.dumps({"data": data, "key": ref}, sort_keys=True, separators=(",", ":"))
        digest = hmac.digest(key, text.encode(), "sha256").hex()
        source = f"people.csv row {number}"
        sealed = text[:-1] + f',"source":"{source}"}}'  # "source" sorts last
        nonce = os.urandom(12)
        payload = b"bgcm1:" + nonce + gcm.encrypt(nonce, sealed.encode(), b"bgcm1:")
        now = datetime.now(UTC).isoformat(" ")
        personal = ((name, "name"), (email, "email"))
        present = [(token(value), category) for value, category in personal if value]
        subjects = " ".join(sorted({subject for subject, _ in present}))
        categories = " ".join(sorted({category for _, category in present}))
        head = ("counting-bot", token(ref), "pending", 0, 0, 0, source, payload, digest)
        return (*head, subjects, categories, "run", "run", now, now)

    return row


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

    from borough.ingest import BATCH  # borough's rows a commit: the baselines' too

    once, once_cpu = pandas_executemany(csv_path, root, every=None)
    batched, batched_cpu = pandas_executemany(csv_path, root, every=BATCH)
    plain, plain_cpu = plain_items(csv_path, root, every=BATCH)
    print(f"ingest of {rows:,} CSV rows ({root}), wall and CPU seconds:")
    print(f"  {'borough':<30} {seconds:7.2f} s  CPU {cpu:7.2f} s")
    for label, base, base_cpu in (
        ("pandas + executemany", once, once_cpu),
        (f"pandas + executemany, {BATCH}/txn", batched, batched_cpu),
        (f"plain items table, {BATCH}/txn", plain, plain_cpu),
    ):
        print(
            f"  {label:<30} {base:7.2f} s  CPU {base_cpu:7.2f} s   "
            f"borough {seconds / base:5.1f} x wall, {cpu / base_cpu:5.1f} x CPU"
        )
    print(
        "  targets: borough < 10 s and within 3x of pandas + executemany (the issue's "
        "baseline, 4 columns, one commit); the plain items table is the same rows, tokenised "
        "and sealed, in borough's own table without audit, redaction or validation"
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
