"""A torn last record (power lost, or a writer killed, in the middle of an append).

Writers refuse and name ``borough audit repair``; verify reports it (exit 4), SAR and
export read every complete record and say so; ``audit repair`` keeps every complete
record, moves the torn bytes aside with their SHA-256 in a signed record, and runs go on.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.ledger import ItemState
from borough.testing import home_env, runtime_in
from tests.support.installs import counting_home, people, people_csv
from tests.support.reliability import Kills, after, start_run

runner = CliRunner()
TORN = b'{"action":"item.done","attempt":1,"bot":"counting-bot","bot_version":"1.0.0","da'


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = counting_home(tmp_path / "home", people(3))
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    return home


def test_a_torn_record_is_reported_then_repaired_without_losing_a_record(home: Path):
    assert invoke("run", "counting-bot").exit_code == 0
    log = home / "logs/audit/audit.jsonl"
    complete = log.read_bytes()
    with log.open("ab") as handle:
        handle.write(TORN)
    (home / "input/people.csv").write_text(people_csv(people(6)), "utf-8")

    run = invoke("run", "counting-bot")
    assert run.exit_code == 3 and "borough audit repair" in run.output, run.output
    retry = invoke("items", "retry", "1")
    assert retry.exit_code != 0 and "Traceback" not in retry.output
    verify = invoke("audit", "verify")
    assert verify.exit_code == 4 and "TAMPERED torn" in verify.output
    sar = invoke("audit", "sar", "Person 2")
    assert sar.exit_code == 0 and "item.done" in sar.output
    assert "ends with an incomplete record" in sar.output
    export = invoke("audit", "export", "--format", "jsonl")
    assert export.exit_code == 0 and "ends with an incomplete record" in export.output
    assert sum(1 for line in export.stdout.splitlines() if line.startswith("{")) == len(
        complete.splitlines()
    )

    repaired = invoke("audit", "repair")
    assert repaired.exit_code == 0 and "Repaired (torn)" in repaired.output
    assert log.read_bytes().startswith(complete)
    [moved] = (home / "logs/audit/quarantine").iterdir()
    assert moved.read_bytes() == TORN
    record = json.loads(log.read_bytes().splitlines()[-1])
    assert record["action"] == "audit.repaired"
    assert record["detail"]["removed_sha256"] == hashlib.sha256(TORN).hexdigest()
    assert invoke("audit", "verify").exit_code == 0
    assert invoke("run", "counting-bot").exit_code == 0
    with runtime_in(home) as runtime:
        assert runtime.ledger.items.count_by_state(bot="counting-bot") == {ItemState.DONE: 6}
    assert invoke("audit", "verify").exit_code == 0


def test_writers_killed_mid_run_leave_a_trail_that_verifies_or_repairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """kill -9 at moments of real runs: every time, verify passes or `audit repair`
    restores a verifiable trail, and no complete record is ever lost."""
    home = counting_home(tmp_path / "slow", people(80), target={"delay_seconds": 0.01})
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    log = home / "logs/audit/audit.jsonl"
    kills = Kills()
    for more in (10, 20, 20):  # after 10, 30 and 50 of the 80 items: early, mid-way, late
        point = after(home, "item.done", more=more)
        kills.at(start_run(home), point, what=f"{more} more items", jitter=0.02)
        kept = log.read_bytes()
        complete = kept[: kept.rfind(b"\n") + 1]
        if invoke("audit", "verify").exit_code != 0:
            assert invoke("audit", "repair").exit_code == 0
            assert log.read_bytes().startswith(complete)
        assert invoke("audit", "verify").exit_code == 0
    assert kills.landed >= 2, kills.report()
    final = invoke("run", "counting-bot")
    assert final.exit_code == 0, final.output
    assert invoke("audit", "verify").exit_code == 0
