"""Audit append throughput: borough's real path against raw appends, in the same run.

Run on demand (not a test)::

    .venv/bin/python benchmarks/audit_append.py [--records 3000] [--rounds 3] [--dir PATH]
        [--compare OTHER_CHECKOUT]

Each round, on the same disk (``--dir``, default a temporary folder), measures in fresh
processes:

* **borough**: ``AuditTrail.emit`` → loguru → ``ChainSink`` (lock, tail check, redaction,
  hash, MAC, append, fsync, signed head, anchors at checkpoints) in a real installation;
* **borough (other)** with ``--compare``: the same with another checkout's code (e.g.
  ``/work/main``), to measure a change before and after;
* **raw fsync**: one canonical-JSON line per record, ``write`` + ``fsync`` each, no chain;
* **raw**: the same lines without fsync (what the disk and Python alone allow).

Read the ratios to raw fsync, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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
                    item=f"p_{i:020d}",
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


def measure(kind: str, tree: Path, records: int, where: Path) -> float:
    """One measurement in a fresh process importing borough from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, "--records", str(records), "--dir", str(where)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to write")
    parser.add_argument("--compare", type=Path, default=None, help="another checkout to measure")
    parser.add_argument("--one", choices=["borough", "raw", "raw-fsync"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    where = args.dir or Path(tempfile.gettempdir())
    where.mkdir(parents=True, exist_ok=True)
    if args.one:
        if args.one == "borough":
            import borough

            assert (
                Path(borough.__file__)
                .resolve()
                .is_relative_to(Path(os.environ["PYTHONPATH"]).resolve())
            ), borough.__file__
            print(borough_rate(args.records, where))
        else:
            print(raw_rate(args.records, where, sync=args.one == "raw-fsync"))
        return
    kinds = {"borough": ROOT}
    if args.compare:
        kinds["borough (other)"] = args.compare
    rates: dict[str, list[float]] = {name: [] for name in [*kinds, "raw fsync", "raw"]}
    for round_ in range(1, args.rounds + 1):
        for name, tree in kinds.items():
            rates[name].append(measure("borough", tree, args.records, where))
        rates["raw fsync"].append(measure("raw-fsync", ROOT, args.records, where))
        rates["raw"].append(measure("raw", ROOT, args.records, where))
        print(f"round {round_}: " + "   ".join(f"{k} {v[-1]:8.0f}/s" for k, v in rates.items()))
    synced = statistics.median(rates["raw fsync"])
    print(f"median over {args.rounds} rounds of {args.records} records ({where}):")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:<16} {median:8.0f} records/s   {median / synced:5.2f} x raw fsync")


if __name__ == "__main__":
    main()
