"""The audit trail at production volume: verify, dashboard pages, SAR and export.

Run on demand (not a test)::

    .venv/bin/python benchmarks/audit_scale.py [--records 1000000] [--sizes 100000,1000000]
        [--dir PATH] [--requests 40] [--keep]

A real installation (the dashboard tests' seeded home: accounts, runs, items) is inflated
through the real writer (redaction, hash, MAC, segments, signed checkpoints, the index in
the ledger) to each size in ``--sizes`` in turn, about 16,000 records a day, 5 records an
item, one person in every 200 records. At each size, in fresh processes:

* **full verify**: ``borough audit verify --full`` (both cores), records/s and peak memory,
  against a raw re-hash (SHA-256 of every line, one core) of the same files;
* **incremental verify**: 1,000 records appended through ``emit``, then ``borough audit
  verify`` (the command's whole wall time: start-up, store unlock, proof, index check);
* **pages**: the dashboard served on loopback, an auditor signed in; p50/p95 of the audit
  page (no filter, and filtered by action), an item page, the first SAR page for a person
  with 5,000 records; the server process's memory before and after;
* **export**: one month (about 500,000 records at 1,000,000) as CSV and as JSON Lines, by
  ``borough audit export``; wall time and peak memory.

Targets (issue 20): full verify ≥ 100,000 records/s in constant memory; incremental verify
< 1 s; pages p95 < 200 ms at 1,000,000 records; export of a month < 200 MB peak; the
dashboard's memory flat as the trail grows.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PER_DAY = 16_000
START = datetime(2027, 1, 1, tzinfo=UTC)  #: the inflated records' clock (after the seed's)
GROUP = 2_000
PERSON_EVERY = 200  #: the SAR person is in one record of every 200
ACTIONS = ("item.ingested", "item.intent", "item.step", "item.step", "item.done")


def token(kind: str, i: int) -> str:
    digest = hashlib.sha256(f"{kind}:{i}".encode()).digest()
    return "p_" + base64.b32encode(digest).decode("ascii").lower()[:20]


SAR_PERSON = token("person", 0)


# -- building ------------------------------------------------------------------------------
def build(home_root: Path, upto: int) -> None:
    """Seed the installation (first time) and inflate its trail to ``upto`` records."""
    from borough.audit import records
    from borough.testing import runtime_in

    state = home_root / "bench.json"
    if not state.exists():
        from tests.support.dashboard import seed

        seeded = seed(home_root / "seed")
        state.write_text(json.dumps({"home": str(seeded.home), "item": seeded.review_id}))
    info = json.loads(state.read_text())
    home = Path(info["home"])
    with runtime_in(home) as runtime:
        item = runtime.ledger.items.get(info["item"])
        assert item is not None
        sink = runtime.trail.sink
        with sink.exclusive():
            have = sink.prove_end().seq
        clock = {"now": START + timedelta(seconds=have * 86_400 / PER_DAY)}
        records.utc_now = lambda: clock["now"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # type: ignore[assignment]
        started, done = time.perf_counter(), 0
        i = have
        while i < upto:
            with sink.group():
                for _ in range(min(GROUP, upto - i)):
                    clock["now"] += timedelta(seconds=86_400 / PER_DAY)
                    sink.append(_fields(i, item.key_token))
                    i += 1
                    done += 1
        sink.index.close()
        print(f"built {done:,} records in {time.perf_counter() - started:.0f} s", flush=True)


def _fields(i: int, seeded_item: str) -> dict[str, Any]:
    item_no = i // len(ACTIONS)
    people = [token("person", 1 + item_no % 50_000)]
    if i % PERSON_EVERY == 0:
        people.append(SAR_PERSON)
    run = START + timedelta(seconds=(i // 1000) * 1000 * 86_400 / PER_DAY)
    return {
        "host": "rpa-1",
        "run_id": run.strftime("%Y%m%d-%H%M%S-") + f"{i // 1000:06x}",
        "bot": "benefits-to-revenues",
        "bot_version": "1.0.0",
        "actor": "bot:benefits-to-revenues",
        "action": ACTIONS[i % len(ACTIONS)],
        "outcome": "ok",
        "item": seeded_item if i % 20_000 == 7 else token("item", item_no),
        "attempt": 1,
        "step": "process",
        "target": "revenues-import",
        "data_categories": ["address", "name"],
        "subjects": sorted(people),
        "detail": {"reference": f"REF-{item_no:07d}"},
        "evidence": [],
    }


# -- measuring commands ----------------------------------------------------------------------
def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak MiB of the process, stdout) of one command; its CPU seconds (with the
    worker processes it waited for) are kept in ``CPU[-1]``."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        children = resource_children()
        CPU.append(children - CPU_SEEN[0])
        CPU_SEEN[0] = children
        out.seek(0)
        err.seek(0)
        text = out.read().decode("utf-8", "replace")
        if process.returncode != 0:
            raise RuntimeError(f"{cmd} exited {process.returncode}: {err.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, text


CPU: list[float] = []
CPU_SEEN = [0.0]


def resource_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def borough_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "borough", *args]


def raw_rehash(folder: Path) -> tuple[int, float]:
    files = [*sorted((folder / "segments").glob("*.jsonl")), folder / "audit.jsonl"]
    started, count = time.perf_counter(), 0
    for path in files:
        with path.open("rb") as handle:
            for line in handle:
                hashlib.sha256(line).digest()
                count += 1
    return count, time.perf_counter() - started


def verify_in_process(home: Path) -> float:
    """Seconds of the incremental verification itself (the installation already open)."""
    from borough.audit.check import verify_estate
    from borough.testing import runtime_in

    with runtime_in(home) as runtime:
        started = time.perf_counter()
        verdicts, _ = verify_estate(runtime, external=[], full=False)
        seconds = time.perf_counter() - started
    assert all(v.ok for v in verdicts), [v.problem for v in verdicts]
    return seconds


def append_through_emit(home: Path, count: int) -> None:
    from borough.testing import runtime_in

    with runtime_in(home) as runtime:
        trail = runtime.trail.bind(run_id="20270301-090000-abcdef", bot="bench", actor="bot:bench")
        for i in range(count):
            trail.emit("item.done", item=token("late", i), subjects=[token("person", i)])


# -- pages -----------------------------------------------------------------------------------
def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pages(home: Path, item_id: int, requests: int) -> dict[str, Any]:
    import httpx

    from borough.dashboard.app import create_app
    from borough.dashboard.state import Dashboard
    from borough.testing import runtime_in
    from tests.support.dashboard import FAST_HASHER, PASSWORD, csrf_of, post_form, serving

    with runtime_in(home) as runtime:
        dash = Dashboard.open(runtime, hasher=FAST_HASHER)
        with serving(create_app(dash)) as url, httpx.Client(base_url=url, timeout=60) as client:
            response = post_form(client, "/sign-in", "/sign-in", name="audrey", password=PASSWORD)
            assert response.status_code == 303, response.text
            client.get("/audit")  # first request: imports, templates, the index caught up
            before = rss_mib()
            sar_csrf = csrf_of(client.get("/audit/sar").text)

            def sar() -> httpx.Response:
                return client.post("/audit/sar", data={"csrf_token": sar_csrf, "who": SAR_PERSON})

            calls = {
                "audit page": lambda: client.get("/audit"),
                "audit page, action filter": lambda: client.get("/audit?action=item.done&page=3"),
                "item page": lambda: client.get(f"/items/{item_id}"),
                "first SAR page": sar,
            }
            figures: dict[str, Any] = {}
            for name, call in calls.items():
                times = []
                for _ in range(requests):
                    started = time.perf_counter()
                    response = call()
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (name, response.status_code)
                times.sort()
                figures[name] = (statistics.median(times), times[int(0.95 * (len(times) - 1))])
            figures["rss"] = (before, rss_mib())
            return figures


# -- the whole run ---------------------------------------------------------------------------
def measure(root: Path, size: int, requests: int) -> dict[str, Any]:
    from borough.testing import home_env

    info = json.loads((root / "bench.json").read_text())
    home = Path(info["home"])
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)}
    folder = home / "logs" / "audit"
    result: dict[str, Any] = {"size": size}

    CPU_SEEN[0] = resource_children()  # what the build used is not verify's
    count, seconds = raw_rehash(folder)
    result["raw rehash"] = count / seconds
    seconds, peak, _ = timed(borough_cmd("audit", "verify", "--full"), env)
    result["full verify"] = (count / seconds, seconds, peak, CPU[-1])

    one = [sys.executable, __file__, "--dir", str(root)]
    timed([*one, "--one", "append"], env)
    seconds, peak, _ = timed(borough_cmd("audit", "verify"), env)
    timed([*one, "--one", "append"], env)
    _, _, text = timed([*one, "--one", "verify-inc"], env)
    result["incremental verify"] = (seconds, peak, float(text.strip().splitlines()[-1]))
    seconds, _, _ = timed(borough_cmd("audit", "--help"), env)
    result["cli start-up"] = seconds

    _, _, text = timed([*one, "--one", "pages", "--requests", str(requests)], env)
    result["pages"] = json.loads(text.strip().splitlines()[-1])

    month = START + timedelta(days=max(1, min(31, size // PER_DAY // 2)))
    since, until = START.strftime("%Y-%m-%d"), month.strftime("%Y-%m-%d")
    for fmt in ("csv", "jsonl"):
        with tempfile.NamedTemporaryFile(dir=root) as out:
            seconds, peak, _ = timed(
                borough_cmd(
                    "audit", "export", "--since", since, "--until", until, "--format", fmt,
                    "-o", out.name,
                ),
                env,
            )  # fmt: skip
            with open(out.name, "rb") as written:
                lines = sum(1 for _ in written)
        result[f"export {fmt}"] = (lines, seconds, peak, f"{since}..{until}")
    return result


def report(result: dict[str, Any]) -> None:
    print(f"\n== {result['size']:,} records ==")
    rate, seconds, peak, cpu = result["full verify"]
    print(
        f"full verify      {rate:10,.0f} records/s ({seconds:.1f} s, peak {peak:.0f} MiB; CPU "
        f"{cpu:.1f} s over both cores: {2 * rate * seconds / cpu:,.0f}/s on two free cores); "
        f"raw re-hash {result['raw rehash']:,.0f}/s"
    )
    seconds, peak, work = result["incremental verify"]
    print(
        f"incremental      {seconds * 1000:6.0f} ms after 1,000 records, the command's wall time "
        f"(peak {peak:.0f} MiB; `borough audit --help` alone {result['cli start-up'] * 1000:.0f} "
        f"ms); the verification itself {work * 1000:.0f} ms"
    )
    for name, value in result["pages"].items():
        if name == "rss":
            print(f"dashboard memory {value[0]:6.0f} MiB before the requests, {value[1]:.0f} after")
        else:
            print(f"{name:<27} p50 {value[0]:6.1f} ms   p95 {value[1]:6.1f} ms")
    for fmt in ("csv", "jsonl"):
        lines, seconds, peak, span = result[f"export {fmt}"]
        print(f"export {fmt:<5} {span}: {lines:,} lines in {seconds:.1f} s, peak {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dir", type=Path, default=None, help="where the installation lives")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the installation (reuse it)")
    parser.add_argument(
        "--one", choices=["build", "append", "pages", "verify-inc"], help=argparse.SUPPRESS
    )
    parser.add_argument("--upto", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="borough-audit-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    if args.one == "build":
        build(root, args.upto)
        return
    if args.one:
        info = json.loads((root / "bench.json").read_text())
        if args.one == "append":
            append_through_emit(Path(info["home"]), 1000)
        elif args.one == "verify-inc":
            print(verify_in_process(Path(info["home"])))
        else:
            print(json.dumps(pages(Path(info["home"]), info["item"], args.requests)))
        return
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--dir",
                    str(root),
                    "--one",
                    "build",
                    "--upto",
                    str(size),
                ],
                check=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            report(measure(root, size, args.requests))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}")


if __name__ == "__main__":
    main()
