"""Audit append throughput: borough's real path against raw appends, in the same run.

Run on demand (not a test)::

    .venv/bin/python benchmarks/audit_append.py [--records 3000] [--rounds 3] [--dir PATH]
        [--compare OTHER_CHECKOUT]

Each round, on the same disk (``--dir``, default a temporary folder), measures in fresh
processes:

* **borough**: ``AuditTrail.emit`` → loguru → ``ChainSink`` (lock, tail check, redaction,
  hash, MAC, append, fsync, signed head, anchors at checkpoints) in a real installation;
* **borough, groups of N** (``--group``, default 100): the same ``emit`` calls inside
  ``trail.group()`` (how the item worker and ingest write: the trail's end proven once,
  one fsync, one signed head, one index insert and one log message a group; every record
  durable when its group ends, before anything it gates);
* **borough, emit_many of N**: ``trail.fields`` a record and ``trail.emit_many`` of each N
  (how ingest writes its ``item.ingested`` records: one group, one summary log line);
* **borough (other)** with ``--compare``: the same with another checkout's code (e.g.
  ``/work/main``), to measure a change before and after;
* **raw fsync**: one canonical-JSON line per record, ``write`` + ``fsync`` each, no chain;
* **raw, fsync a group**: the same lines, one ``fsync`` every N records;
* **raw**: the same lines without fsync (what the disk and Python alone allow).

Read the ratios to raw fsync, not the seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def borough_rate(records: int, where: Path, group: int = 0, *, many: bool = False) -> float:
    from borough.testing import make_home, runtime_in

    with tempfile.TemporaryDirectory(dir=where) as tmp:
        home = make_home(Path(tmp) / "home", config=ROOT / "config")
        with runtime_in(home) as runtime:
            trail = runtime.trail.bind(run_id=FIELDS["run_id"], bot="bench", actor="bot:bench")
            trail.emit("bench.warmup")
            start, cpu = time.perf_counter(), time.process_time()
            for first in range(0, records, group or 1):
                span = range(first, min(records, first + (group or 1)))
                if many:
                    trail.emit_many([_fields(trail, i) for i in span], summary="bench")
                    continue
                with trail.group() if group else contextlib.nullcontext():
                    for i in span:
                        _emit(trail, i)
            runtime.sink.index.flush()  # the index rows still waiting count too
            CPU_RATE.append(records / (time.process_time() - cpu))
            return records / (time.perf_counter() - start)


def _emit(trail: Any, i: int) -> None:
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


def _fields(trail: Any, i: int) -> dict[str, Any]:
    fields: dict[str, Any] = trail.fields(
        "item.ingested",
        item=f"p_{i:020d}",
        data_categories=FIELDS["data_categories"],
        subjects=FIELDS["subjects"],
        detail={"reference": f"REF-{i:06d}"},
    )
    return fields


def raw_rate(records: int, where: Path, *, sync: int) -> float:
    """``sync``: fsync every this many records (0: never)."""
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        path = Path(tmp) / "raw.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            start, cpu = time.perf_counter(), time.process_time()
            for i in range(records):
                line = json.dumps(
                    {**FIELDS, "seq": i, "item": f"p_{i:020d}"},
                    sort_keys=True,
                    separators=(",", ":"),
                    ensure_ascii=False,
                )
                os.write(fd, (line + "\n").encode("utf-8"))
                if sync and (i + 1) % sync == 0:
                    os.fsync(fd)
            CPU_RATE.append(records / (time.process_time() - cpu))
            return records / (time.perf_counter() - start)
        finally:
            os.close(fd)


CPU_RATE: list[float] = []  #: records per CPU second of the last measurement


def measure(kind: str, tree: Path, records: int, where: Path, group: int) -> tuple[float, float]:
    """One measurement in a fresh process importing borough from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--one",
            kind,
            "--records",
            str(records),
            "--dir",
            str(where),
            "--group",
            str(group),
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to write")
    parser.add_argument("--compare", type=Path, default=None, help="another checkout to measure")
    parser.add_argument("--group", type=int, default=100, help="records a group")
    parser.add_argument(
        "--one",
        choices=["borough", "borough-group", "borough-many", "raw", "raw-fsync", "raw-fsync-group"],
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args()
    where = args.dir or Path(tempfile.gettempdir())
    where.mkdir(parents=True, exist_ok=True)
    if args.one:
        if args.one.startswith("borough"):
            import borough

            assert (
                Path(borough.__file__)
                .resolve()
                .is_relative_to(Path(os.environ["PYTHONPATH"]).resolve())
            ), borough.__file__
            group = 0 if args.one == "borough" else args.group
            many = args.one == "borough-many"
            print(borough_rate(args.records, where, group, many=many), CPU_RATE[-1])
        else:
            sync = {"raw": 0, "raw-fsync": 1, "raw-fsync-group": args.group}[args.one]
            print(raw_rate(args.records, where, sync=sync), CPU_RATE[-1])
        return
    grouped = f"groups of {args.group}"
    kinds = {
        "borough": ("borough", ROOT),
        f"borough, {grouped}": ("borough-group", ROOT),
        f"borough, emit_many of {args.group}": ("borough-many", ROOT),
    }
    if args.compare:
        kinds["borough (other)"] = ("borough", args.compare)
        kinds[f"(other), {grouped}"] = ("borough-group", args.compare)
    kinds |= {
        "raw fsync": ("raw-fsync", ROOT),
        f"raw, fsync {grouped}": ("raw-fsync-group", ROOT),
        "raw": ("raw", ROOT),
    }
    rates: dict[str, list[float]] = {name: [] for name in kinds}
    cpu_rates: dict[str, list[float]] = {name: [] for name in kinds}
    for round_ in range(1, args.rounds + 1):
        for name, (kind, tree) in kinds.items():
            wall, cpu = measure(kind, tree, args.records, where, args.group)
            rates[name].append(wall)
            cpu_rates[name].append(cpu)
        print(f"round {round_}: " + "   ".join(f"{k} {v[-1]:8.0f}/s" for k, v in rates.items()))
    synced = statistics.median(rates["raw fsync"])
    print(f"median over {args.rounds} rounds of {args.records} records ({where}):")
    print(f"  {'':<26} {'wall':>8}             {'':>6}              {'per CPU second':>14}")
    for name, values in rates.items():
        median, cpu = statistics.median(values), statistics.median(cpu_rates[name])
        print(
            f"  {name:<26} {median:8.0f} records/s   {median / synced:6.2f} x raw fsync"
            f"   {cpu:10.0f} records/CPU s"
        )


if __name__ == "__main__":
    main()
