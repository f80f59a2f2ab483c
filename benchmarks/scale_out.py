"""Items per second with several runner machines on PostgreSQL, side by side in one run.

Run on demand (not a test)::

    .venv/bin/python benchmarks/scale_out.py [--items 400] [--runners 1 2 4]

One bot, one input of ``--items`` rows, a target with a fixed 50 ms of work per item
(``pause_seconds``). Compared in the same run, so the machine's other load moves them all:

* **SQLite, one machine** — ``borough run`` on an embedded ledger (the baseline);
* **PostgreSQL, N runners** — a scale-out installation (tests/support/multirunner.py): a
  scheduler and N runner machines (each its own process tree, home and host name), the
  schedule's ``runs: N`` so N runs claim the same items at once; timed from ``schedules
  run-now`` to the last item DONE, and over the work itself (first to last item done);
* **claims/s** — the ledger's ceiling: ``claim_next`` + ``finish`` on PostgreSQL in a
  loop, with no bot, no audit record, no target (1 and 4 threads).

Efficiency = (items/s with N runners ÷ items/s with 1 runner) ÷ N. Target: ≥ 0.8 at 4
runners. On a machine with fewer cores than runners the runners share the CPU; read the
figures with the load average printed at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from borough.ledger import ItemState, Sealer, open_ledger  # noqa: E402
from borough.testing import COUNTING_KIND, make_home  # noqa: E402
from tests.support.installs import people_csv  # noqa: E402
from tests.support.ledger import new  # noqa: E402
from tests.support.multirunner import (  # noqa: E402
    SCHEDULE,
    cluster,
    ledger_state,
    rows_of,
    runs_of,
)
from tests.support.postgres import create_database, temporary_postgres  # noqa: E402
from tests.support.scheduling import child_env  # noqa: E402

WORK_SECONDS = 0.05


def sqlite_baseline(root: Path, items: int) -> tuple[float, float]:
    """(wall seconds, work seconds) of ``borough run`` on one machine with SQLite."""
    bot = {
        "bot": "counting-bot",
        "entry": "tests.support.bots:CountingBot",
        "inputs": {"csv": "input/people.csv"},
        "apps": ["counting"],
        "settings": {"pause_seconds": WORK_SECONDS},
    }
    apps = {"apps": {"counting": {"kind": COUNTING_KIND, "path": "var/target.sqlite"}}}
    home = make_home(
        root,
        files={
            "config/borough.yaml": yaml.safe_dump({"audit": {"checkpoint_every": 200}}),
            "config/apps.yaml": yaml.safe_dump(apps),
            "config/bots/counting-bot.yaml": yaml.safe_dump(bot),
            "input/people.csv": people_csv(rows_of(items)),
        },
    )
    env = {**os.environ, **child_env(home)}
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "borough", "run", "counting-bot", "-q"],
        env=env,
        cwd=home,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.monotonic() - started
    import sqlite3

    with sqlite3.connect(home / "var" / "ledger.sqlite") as db:
        first, last = db.execute(
            "SELECT min(updated_at), max(updated_at) FROM borough_items WHERE state = 'done'"
        ).fetchone()
    return wall, _seconds_between(first, last)


def _seconds_between(first: object, last: object) -> float:
    from datetime import datetime

    def parse(value: object) -> datetime:
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    return (parse(last) - parse(first)).total_seconds()


def scale_out(root: Path, server: str, items: int, runners: int) -> tuple[float, float]:
    """(wall seconds, work seconds) of ``runs: N`` over N runner machines."""
    db_url = create_database(server, f"bench_{runners}")
    with cluster(
        root, db_url, items=items, seconds_per_item=WORK_SECONDS, schedule={"runs": runners}
    ) as made:
        made.scheduler("sched-1")
        for n in range(1, runners + 1):
            made.runner(f"runner-{n}")
        time.sleep(3)  # the workers are listening
        started = time.monotonic()
        queued = made.cli("schedules", "run-now", SCHEDULE)
        assert queued.returncode == 0, queued.stderr
        while ledger_state(db_url).get("done", 0) < items:
            time.sleep(0.1)
        wall = time.monotonic() - started
        hosts = {r["host"] for r in runs_of(db_url) if r["bot"] == "counting-bot"}
    import psycopg

    with psycopg.connect(db_url) as conn:
        first, last = conn.execute(
            "SELECT min(updated_at), max(updated_at) FROM borough_items WHERE state = 'done'"
        ).fetchone()
    assert len(hosts) == runners, f"runs on {sorted(hosts)} only"
    return wall, _seconds_between(first, last)


def claim_rate(server: str, threads: int, count: int = 2000) -> float:
    """Claims (claim + finish) per second on PostgreSQL, no bot, no audit."""
    db_url = create_database(server, f"claims_{threads}")
    ledger = open_ledger(db_url, Sealer(secrets.token_bytes(32)))
    run = ledger.runs.create("bench", "1")
    for start in range(0, count, 500):
        ledger.items.ingest("bench", run.id, [new(f"k{i}") for i in range(start, start + 500)])

    def worker() -> None:
        while (claim := ledger.items.claim_next("bench", run.id)) is not None:
            ledger.items.finish(claim, ItemState.DONE, reference="r")

    started = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    ledger.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--runners", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    rows: list[tuple[str, int, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="borough-scale-") as tmp, temporary_postgres() as pg:
        wall, work = sqlite_baseline(Path(tmp) / "sqlite", args.items)
        rows.append(("SQLite, one machine", 1, wall, work))
        for n in args.runners:
            wall, work = scale_out(Path(tmp) / f"pg{n}", pg, args.items, n)
            rows.append((f"PostgreSQL, {n} runner(s)", n, wall, work))
        ceilings = {threads: claim_rate(pg, threads) for threads in (1, 4)}
    one = next((args.items / w for label, n, _, w in rows if n == 1 and "Postgre" in label), None)
    floor = args.items * WORK_SECONDS
    print(f"{args.items} items, {WORK_SECONDS * 1000:.0f} ms of work each (floor {floor:.0f} s)")
    print(f"{'':28} {'wall s':>8} {'items/s':>8} {'work s':>8} {'items/s':>8} {'efficiency':>10}")
    for label, n, wall, work in rows:
        rate = args.items / work if work else float("nan")
        efficiency = f"{rate / one / n:.2f}" if one and "Postgre" in label else "-"
        walled = args.items / wall
        print(f"{label:28} {wall:8.1f} {walled:8.1f} {work:8.1f} {rate:8.1f} {efficiency:>10}")
    for threads, rate in ceilings.items():
        print(f"ledger ceiling, {threads} thread(s): {rate:,.0f} claims/s (claim + finish)")
    print(f"load average: {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPU(s)")


if __name__ == "__main__":
    main()
