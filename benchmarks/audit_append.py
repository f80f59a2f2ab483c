"""Audit append throughput: borough's real path against raw appends, in the same run.

Run on demand (not a test)::

    .venv/bin/python benchmarks/audit_append.py [--records 3000] [--rounds 3]

Each round, on the same disk and in the same folder kind, measures:

* **borough**: ``AuditTrail.emit`` → loguru → ``ChainSink`` (lock, tail check, redaction,
  hash, MAC, append, fsync, signed head, anchor at checkpoints) in a real installation;
* **raw fsync**: one canonical-JSON line per record, ``write`` + ``fsync`` each, no chain;
* **raw**: the same lines without fsync (what the disk and Python alone allow).

Read the ratio borough / raw fsync, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

FIELDS = {
    "run_id": "20261123-091300-3f9a1c",
    "bot": "bench",
    "bot_version": "1.0.0",
    "attempt": 1,
    "step": "process",
    "target": "casework",
    "actor": "bot:bench",
    "outcome": "done",
    "data_categories": ["address", "name"],
    "subjects": ["p_7vpaca6w742bqsmszeft"],
}


def borough_rate(records: int, where: Path) -> float:
    from borough.testing import make_home, runtime_in

    with tempfile.TemporaryDirectory(dir=where) as tmp:
        home = make_home(Path(tmp) / "home", config=ROOT / "config")
        with runtime_in(home) as runtime:
            trail = runtime.trail.bind(run_id=FIELDS["run_id"], bot="bench", actor="bot:bench")
            trail.emit("bench.warmup")
            start = time.perf_counter()
            for i in range(records):
                trail.emit(
                    "item.done",
                    item=f"p_{i:020d}"[:22],
                    attempt=1,
                    step="process",
                    target="casework",
                    data_categories=FIELDS["data_categories"],
                    subjects=FIELDS["subjects"],
                    detail={"reference": f"REF-{i:06d}"},
                )
            return records / (time.perf_counter() - start)


def raw_rate(records: int, where: Path, *, sync: bool) -> float:
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        path = Path(tmp) / "raw.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            start = time.perf_counter()
            for i in range(records):
                line = json.dumps(
                    {**FIELDS, "seq": i, "item": f"p_{i:020d}"},
                    sort_keys=True,
                    separators=(",", ":"),
                    ensure_ascii=False,
                )
                os.write(fd, (line + "\n").encode("utf-8"))
                if sync:
                    os.fsync(fd)
            return records / (time.perf_counter() - start)
        finally:
            os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write (default: a temporary folder)"
    )
    args = parser.parse_args()
    where = args.dir or Path(tempfile.gettempdir())
    where.mkdir(parents=True, exist_ok=True)
    ours: list[float] = []
    synced: list[float] = []
    unsynced: list[float] = []
    for round_ in range(1, args.rounds + 1):
        ours.append(borough_rate(args.records, where))
        synced.append(raw_rate(args.records, where, sync=True))
        unsynced.append(raw_rate(args.records, where, sync=False))
        print(
            f"round {round_}: borough {ours[-1]:8.0f}/s   raw+fsync {synced[-1]:8.0f}/s   "
            f"raw {unsynced[-1]:8.0f}/s   ratio {ours[-1] / synced[-1]:.2f}"
        )
    ratios = [o / s for o, s in zip(ours, synced, strict=True)]
    print(
        f"median: borough {statistics.median(ours):.0f} records/s, raw+fsync "
        f"{statistics.median(synced):.0f}/s, raw {statistics.median(unsynced):.0f}/s; "
        f"borough / raw+fsync {statistics.median(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
