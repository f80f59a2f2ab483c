"""The audit trail's disk fills up in the middle of a run (a small tmpfs under logs/audit).

The run must stop with one clear line and exit code 3 (ERROR), be recorded FAILED, leave
no item DONE without its ``item.done`` record and no torn record; after freeing space a
re-run finishes every item exactly once and no complete record was lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from borough.audit.check import verify_installation
from borough.ledger import ItemState, RunStatus
from borough.testing import counted_writes, home_env, runtime_in
from tests.reliability.conftest import mounted_tmpfs
from tests.support.installs import counting_home, people

ROWS = 40
ROOT = Path(__file__).resolve().parents[2]


def borough(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "borough", *args],
        check=False,
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )


def trail(home: Path) -> list[dict]:
    text = (home / "logs/audit/audit.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.usefixtures("mounts")
def test_a_full_disk_stops_the_run_cleanly_and_a_rerun_finishes_it(tmp_path: Path):
    home = counting_home(
        tmp_path / "home", people(ROWS), borough={"audit": {"checkpoint_every": 25}}
    )
    with mounted_tmpfs(home / "logs/audit", "64k") as resize:
        full = borough(home, "run", "counting-bot", "--quiet")
        output = full.stdout + full.stderr
        assert full.returncode == 3, output
        assert "no space left on the disk holding" in output
        assert "Traceback" not in output
        with runtime_in(home) as runtime:
            [run] = runtime.ledger.runs.list(limit=1)
            assert run.status is RunStatus.FAILED and "no space left" in (run.error or "")
            done = runtime.ledger.items.list(states=[ItemState.DONE], limit=1000)
            assert 0 < len(done) < ROWS, "the disk should fill in the middle of the work"
            recorded = {r["item"] for r in trail(home) if r["action"] == "item.done"}
            assert {item.key_token for item in done} <= recorded, "DONE without its record"
        assert (home / "logs/audit/audit.jsonl").read_bytes().endswith(b"\n")
        before = (home / "logs/audit/audit.jsonl").read_bytes()

        refused_again = borough(home, "run", "counting-bot", "--quiet")
        assert refused_again.returncode == 3 and "Traceback" not in refused_again.stderr

        resize("4m")  # the operator frees space and runs it again
        again = borough(home, "run", "counting-bot", "--quiet")
        assert again.returncode == 0, again.stdout + again.stderr
        after = (home / "logs/audit/audit.jsonl").read_bytes()
        assert after.startswith(before), "a complete record was lost"
        with runtime_in(home) as runtime:
            verdict = verify_installation(runtime)
            assert verdict.ok, verdict.problem
            states = runtime.ledger.items.count_by_state(bot="counting-bot")
            assert states == {ItemState.DONE: ROWS}
            recorded = [r["item"] for r in trail(home) if r["action"] == "item.done"]
            assert len(set(recorded)) == ROWS
    writes = counted_writes(home / "var/target.sqlite")
    assert len(writes) == ROWS and set(writes.values()) == {1}, "an item was written twice"
