"""Fixed costs, side by side in one run: the CLI's start-up, read-only operator commands,
and a one-item run (cold and warm) against the same work in a bare script.

Run on demand (not a test)::

    .venv/bin/python benchmarks/startup.py [--rounds 7]

Rounds alternate the commands compared, because other work on the machine moves them all;
read the ratios and the differences, not the seconds. The installation uses the real
Argon2 costs of a council's secret store (``cheap_secrets=False``).

* ``borough --help`` vs ``python -c pass`` (target: under 0.3 s);
* ``runs list``, ``items list``, ``schedules list``, ``audit verify --public-key`` and
  ``audit verify`` (read-only: no unlock; the trail ends at its signed head) and, for
  comparison, ``audit verify --full`` (unlocks the store for the MAC key, to check every
  record's MAC) and ``secrets list`` (unlocks the store) on an installation with 20 runs
  (target: read-only under 1 s);
* a one-item run: the bare script reads the CSV row, validates it and writes it to the
  target's SQLite file; ``borough run`` does the same work plus ledger, audit and
  evidence, started *cold* (it unlocks the store itself, as an operator's manual run
  does) and *warm* (handed its keys through a pipe, as the scheduler starts it).
  A *forked* run is what the scheduler does by default: the warm start, as a fork of the
  fork server (``borough.forkserver``), which has imported borough's libraries once.
  Target: the scheduler's run (forked) has a fixed cost (run - bare script) under 1 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
PY = sys.executable
BOROUGH = [PY, "-m", "borough"]

BARE_SCRIPT = """
import csv, sqlite3, sys
from decimal import Decimal
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
db = sqlite3.connect(sys.argv[2], isolation_level=None)
db.execute("CREATE TABLE IF NOT EXISTS records (key TEXT, reference TEXT, payload TEXT, pid INT)")
for row in rows:
    assert row["Ref"] and row["Name"] and Decimal(row["Amount"]) >= 0
    db.execute("BEGIN IMMEDIATE")
    (n,) = db.execute("SELECT COUNT(*) FROM records").fetchone()
    reference = f"REF-{n + 1:06d}"
    db.execute("INSERT INTO records VALUES (?, ?, ?, 0)", (row["Ref"], reference, row["Name"]))
    db.execute("COMMIT")
"""


def timed(command: list[str], env: dict[str, str], **kwargs: object) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run of ``command``; fails loudly."""
    before = os.times()
    began = time.perf_counter()
    done = subprocess.run(  # type: ignore[call-overload]
        command, env=env, capture_output=True, text=True, check=False, **kwargs
    )
    wall = time.perf_counter() - began
    after = os.times()
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def home_with_runs(root: Path, runs: int) -> tuple[Path, dict[str, str]]:
    from borough.testing import COUNTING_KIND, home_env, make_home, runtime_in

    bot = {
        "bot": "counting-bot",
        "entry": "tests.support.bots:CountingBot",
        "inputs": {"csv": "input/people.csv"},
        "apps": ["counting"],
    }
    schedules = {"schedules": {"nightly": {"bot": "counting-bot", "daily": "02:00"}}}
    home = make_home(
        root,
        files={
            "config/apps.yaml": yaml.safe_dump(
                {"apps": {"counting": {"kind": COUNTING_KIND, "path": "var/target.sqlite"}}}
            ),
            "config/bots/counting-bot.yaml": yaml.safe_dump(bot),
            "config/schedules.yaml": yaml.safe_dump(schedules),
            "input/people.csv": "Ref,Name,Email,Amount\nR0001,Person 1,,12.50\n",
        },
        cheap_secrets=False,  # a council's store: the full Argon2 cost
    )
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)}
    from borough.runner import RunRequest, run_bot

    with runtime_in(home) as runtime:
        for _ in range(runs):
            run_bot(runtime, RunRequest("counting-bot"))
    return home, env


def warm_run(home: Path, env: dict[str, str]) -> Callable[[], tuple[float, float]]:
    """A one-item run started as the scheduler starts one: keys handed through a pipe."""
    from borough.testing import runtime_in

    with runtime_in(home) as runtime:
        handover = runtime.handover
        payload = handover.payload("counting-bot")
    child_env = {k: v for k, v in env.items() if k != "BOROUGH_SECRETS_PASSPHRASE"}

    def run() -> tuple[float, float]:
        read_fd, write_fd = os.pipe()
        os.write(write_fd, payload)
        os.close(write_fd)
        try:
            return timed(
                [*BOROUGH, "run", "counting-bot", "-q", "--input", "csv=input/one.csv"],
                {**child_env, "BOROUGH_SECRETS_FD": str(read_fd)},
                pass_fds=(read_fd,),
                cwd=home,
            )
        finally:
            os.close(read_fd)

    return run


def forked_run(
    home: Path, env: dict[str, str], workdir: Path
) -> tuple[Callable[[], tuple[float, float]], Callable[[], None]]:
    """A one-item run as the scheduler starts one by default: a fork of the warm server,
    keys handed through a pipe. CPU is the server's children's (the forks')."""
    from borough.forkserver import ForkServer
    from borough.testing import runtime_in

    with runtime_in(home) as runtime:
        payload = runtime.handover.payload("counting-bot")
    child_env = {k: v for k, v in env.items() if k != "BOROUGH_SECRETS_PASSPHRASE"}
    server = ForkServer(child_env, home)
    server.start()
    while not server.ready:
        time.sleep(0.05)
    argv = [*BOROUGH, "run", "counting-bot", "-q", "--input", "csv=input/one.csv"]

    def run() -> tuple[float, float]:
        read_fd, write_fd = os.pipe()
        os.write(write_fd, payload)
        os.close(write_fd)
        err = os.open(workdir / "forked.stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        began = time.perf_counter()
        try:
            pid = server.spawn(argv, child_env, cwd=home, stderr_fd=err, secrets_fd=read_fd)
        finally:
            os.close(read_fd)
            os.close(err)
        while (code := server.exited(pid)) is None:
            time.sleep(0.002)
        wall = time.perf_counter() - began
        if code not in (0, 1):
            raise SystemExit(
                f"forked run failed ({code}): {(workdir / 'forked.stderr').read_text()}"
            )
        return wall, float("nan")

    return run, server.close


def one_row_file(home: Path, index: int) -> None:
    (home / "input/one.csv").write_text(
        f"Ref,Name,Email,Amount\nB{index:05d},Person {index},,1{index % 10}.00\n", "utf-8"
    )


def report(name: str, walls: list[float], cpus: list[float], base: float) -> None:
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"  {name:<34} wall {wall:6.3f} s  cpu {cpu:6.3f} s  ({wall / base:5.1f} x baseline)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    from borough import logconfig

    workdir = Path(tempfile.mkdtemp(prefix="borough-startup-"))
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{args.rounds} rounds, medians; load {load}")
        home, env = home_with_runs(workdir / "home", runs=20)
        logconfig.reset()
        pub = workdir / "audit.pub"  # the auditor's kept copy
        shutil.copyfile(home / "logs/audit/audit.pub", pub)
        bare = workdir / "bare.py"
        bare.write_text(BARE_SCRIPT, "utf-8")
        warm = warm_run(home, env)
        forked, stop_server = forked_run(home, env, workdir)
        commands: dict[str, Callable[[int], tuple[float, float]]] = {
            "python -c pass": lambda i: timed([PY, "-c", "pass"], env),
            "borough --help": lambda i: timed([*BOROUGH, "--help"], env),
            "borough runs list": lambda i: timed([*BOROUGH, "runs", "list"], env),
            "borough items list": lambda i: timed([*BOROUGH, "items", "list"], env),
            "borough schedules list": lambda i: timed([*BOROUGH, "schedules", "list"], env),
            "borough audit verify --public-key": lambda i: timed(
                [*BOROUGH, "audit", "verify", "--public-key", str(pub)], env
            ),
            "borough audit verify (signed head)": lambda i: timed(
                [*BOROUGH, "audit", "verify"], env
            ),
            "borough audit verify --full (unlocks)": lambda i: timed(
                [*BOROUGH, "audit", "verify", "--full"], env
            ),
            "borough secrets list (unlocks)": lambda i: timed([*BOROUGH, "secrets", "list"], env),
            "bare script, one item": lambda i: (
                one_row_file(home, 1000 + i),
                timed([PY, str(bare), str(home / "input/one.csv"), str(workdir / "bare.db")], env),
            )[1],
            "borough run, one item, cold": lambda i: (
                one_row_file(home, 2000 + i),
                timed(
                    [*BOROUGH, "run", "counting-bot", "-q", "--input", "csv=input/one.csv"],
                    env,
                    cwd=home,
                ),
            )[1],
            "borough run, one item, warm": lambda i: (one_row_file(home, 3000 + i), warm())[1],
            "borough run, one item, forked": lambda i: (one_row_file(home, 4000 + i), forked())[1],
        }
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for index in range(args.rounds):
            for name, command in commands.items():
                wall, cpu = command(index)
                walls[name].append(wall)
                cpus[name].append(cpu)
        base = statistics.median(walls["python -c pass"])
        print("\nstart-up (baseline: python -c pass)")
        for name in ("python -c pass", "borough --help"):
            report(name, walls[name], cpus[name], base)
        print("\nread-only operator commands, 20 runs in the ledger")
        for name in list(commands)[2:9]:
            report(name, walls[name], cpus[name], base)
        print("\na one-item run (baseline: the bare script)")
        bare_wall = statistics.median(walls["bare script, one item"])
        for name in list(commands)[9:]:
            report(name, walls[name], cpus[name], bare_wall)
        stop_server()
        for kind in ("cold", "warm", "forked"):
            fixed = statistics.median(walls[f"borough run, one item, {kind}"]) - bare_wall
            print(f"  fixed cost of a {kind} run: {fixed:.2f} s")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\nload at the end {load}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
