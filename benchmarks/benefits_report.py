"""The benefit report over a large ledger: one grouped pass vs a query per month vs raw SQL.

A SQLite ledger with ``--items`` item outcomes spread over ``--span`` months (so part of it
is older than the report's twelve months) and a run per 50 items. Each round, alternating:

- raw: one hand-written ``sqlite3`` statement counting the twelve months' outcomes by bot
  and state (the least any report must read: one pass over the same rows);
- report: ``benefit_report`` as shipped (items grouped by month, bot and outcome in one
  query, the runs of the span in another);
- per month: ``month_figures`` for each of the twelve months (the report before: two
  queries a month).

Then the same with an index on ``borough_items.updated_at`` (created for the comparison,
dropped after). Read the ratios, not the seconds: the machine is shared.

    .venv/bin/python benchmarks/benefits_report.py [--items 100000] [--rounds 5] [--span 24]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from borough.benefits import Month, benefit_report, month_figures  # noqa: E402
from borough.ledger.schema import items, runs  # noqa: E402
from borough.testing import make_home, runtime_in  # noqa: E402

BOTS = ["change-of-circumstances", "casework-to-revenues-desktop", "blue-badges", "housing-rent"]
STATES = ["done"] * 17 + ["failed", "needs_review", "pending"]
MONTH = Month(2026, 11)
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


def build(root: Path, count: int, span: int) -> Path:
    files = {
        f"config/bots/{bot}.yaml": yaml.safe_dump(
            {"bot": bot, "entry": "x.y:Z", "manual_minutes_per_item": 5}
        )
        for bot in BOTS
    }
    home = make_home(root / "home", files=files)
    rng = random.Random(7)
    end = datetime(2026, 12, 1, tzinfo=UTC)
    seconds = span * 30 * 86400
    rows, run_rows = [], []
    for n in range(count):
        when = end - timedelta(seconds=rng.randrange(seconds))
        state = rng.choice(STATES)
        rows.append(
            {
                "bot": rng.choice(BOTS),
                "key_token": f"tok-{n}",
                "state": state,
                "attempt": 1,
                "fence": 0,
                "invalid": False,
                "subjects": "",
                "data_categories": "",
                "resolution": "resolved as done by alice: by hand" if n % 97 == 0 else None,
                "created_at": when - timedelta(minutes=5),
                "updated_at": when,
            }
        )
        if n % 50 == 0:
            run_rows.append(
                {
                    "id": f"run-{n}",
                    "bot": rng.choice(BOTS),
                    "bot_version": "1",
                    "trigger": "schedule",
                    "status": "succeeded",
                    "host": "bench",
                    "created_at": when,
                    "started_at": when,
                    "ended_at": when + timedelta(minutes=rng.randrange(1, 60)),
                    "counts": "{}",
                    "detail": "{}",
                }
            )
    with runtime_in(home) as runtime, runtime.ledger.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(items), rows[start : start + 5000])
        conn.execute(insert(runs), run_rows)
    return home


def raw(db: Path) -> Callable[[], object]:
    start = MONTH.shift(-11).bounds()[0].astimezone(UTC).strftime(SQLITE_TIME)
    end = MONTH.bounds()[1].astimezone(UTC).strftime(SQLITE_TIME)

    def count() -> object:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            return conn.execute(
                "SELECT bot, state, COUNT(*) FROM borough_items WHERE updated_at >= ? "
                "AND updated_at < ? AND state IN ('done', 'failed', 'needs_review') "
                "GROUP BY bot, state",
                (start, end),
            ).fetchall()

    return count


def timed(work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--span", type=int, default=24, help="months of history in the ledger")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="benefits-bench-") as folder:
        began = time.perf_counter()
        home = build(Path(folder), args.items, args.span)
        print(f"ledger: {args.items:,} items over {args.span} months, built in "
              f"{time.perf_counter() - began:.1f} s")  # fmt: skip
        db = home / "var" / "ledger.sqlite"
        with runtime_in(home) as runtime:
            engine, config = runtime.ledger.engine, runtime.config
            months = [MONTH.shift(-back) for back in range(11, -1, -1)]
            report = benefit_report(engine, config, MONTH)
            per_month = [month_figures(engine, config, m) for m in months]
            assert [p.done for p in report.trend] == [
                sum(b.done for b in figures) for figures in per_month
            ], "both ways give the same figures"
            work = {
                "raw": raw(db),
                "report": lambda: benefit_report(engine, config, MONTH),
                "per month": lambda: [month_figures(engine, config, m) for m in months],
            }
            for indexed in (False, True):
                if indexed:
                    with engine.begin() as conn:
                        conn.exec_driver_sql(
                            "CREATE INDEX ix_bench_updated ON borough_items (updated_at)"
                        )
                times: dict[str, list[float]] = {name: [] for name in work}
                for _ in range(args.rounds):
                    for name, run in work.items():
                        times[name].append(timed(run))
                medians = {name: statistics.median(t) for name, t in times.items()}
                print(f"\n{'with' if indexed else 'without'} an index on updated_at "
                      f"(medians of {args.rounds} rounds):")  # fmt: skip
                for name, seconds in medians.items():
                    ratio = seconds / medians["raw"]
                    print(f"  {name:10} {seconds * 1000:8.1f} ms   {ratio:5.2f} x raw")
                if indexed:
                    with engine.begin() as conn:
                        conn.exec_driver_sql("DROP INDEX ix_bench_updated")


if __name__ == "__main__":
    main()
