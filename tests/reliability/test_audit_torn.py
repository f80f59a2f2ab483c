"""A torn last record (power lost, or a writer killed, in the middle of an append).

Until a writer comes, verify reports it (exit 4), SAR and export read every complete
record and say so. The next writer (a run) moves the torn bytes aside itself, as
``audit repair`` does: every complete record kept, the bytes in a quarantine file named
in a warning and, with their SHA-256, in a signed ``audit.repaired`` record; runs go on.
``audit repair`` run first does the same with the operator as actor.
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


def torn_trail(home: Path) -> tuple[Path, bytes]:
    """A finished run's trail ending in a torn record; three more people to process."""
    assert invoke("run", "counting-bot").exit_code == 0
    log = home / "logs/audit/audit.jsonl"
    complete = log.read_bytes()
    with log.open("ab") as handle:
        handle.write(TORN)
    (home / "input/people.csv").write_text(people_csv(people(6)), "utf-8")
    return log, complete


def repaired_record(log: Path, complete: bytes) -> dict:
    assert log.read_bytes().startswith(complete), "no complete record is lost"
    record = json.loads(log.read_bytes()[len(complete) :].splitlines()[0])
    assert record["action"] == "audit.repaired"
    assert record["detail"]["reasons"] == ["torn"]
    assert record["detail"]["removed_bytes"] == len(TORN)
    assert record["detail"]["removed_sha256"] == hashlib.sha256(TORN).hexdigest()
    return record


def all_six_done_and_verified(home: Path) -> None:
    with runtime_in(home) as runtime:
        assert runtime.ledger.items.count_by_state(bot="counting-bot") == {ItemState.DONE: 6}
    assert invoke("audit", "verify").exit_code == 0


def test_a_torn_record_is_reported_then_the_next_run_moves_it_aside(home: Path):
    log, complete = torn_trail(home)

    verify = invoke("audit", "verify")
    assert verify.exit_code == 4 and "TAMPERED torn" in verify.output
    export = invoke("audit", "export", "--format", "jsonl")
    assert export.exit_code == 0 and "ends with an incomplete record" in export.output
    assert sum(1 for line in export.stdout.splitlines() if line.startswith("{")) == len(
        complete.splitlines()
    )
    assert log.read_bytes() == complete + TORN, "readers leave the torn record where it is"

    run = invoke("run", "counting-bot")
    assert run.exit_code == 0, run.output
    [moved] = (home / "logs/audit/quarantine").iterdir()
    assert moved.read_bytes() == TORN
    assert moved.name in run.output and "incomplete record" in run.output, run.output
    record = repaired_record(log, complete)
    assert record["actor"] == "borough" and record["detail"]["quarantine"] == moved.name
    all_six_done_and_verified(home)


def test_a_sar_reports_a_torn_record_before_its_own_record_moves_it_aside(home: Path):
    """SAR reads, then records the search: it is the next writer."""
    log, complete = torn_trail(home)
    sar = invoke("audit", "sar", "Person 2")
    assert sar.exit_code == 0 and "item.done" in sar.output
    assert "ends with an incomplete record" in sar.output
    repaired_record(log, complete)
    assert json.loads(log.read_bytes().splitlines()[-1])["action"] == "audit.sar"
    assert invoke("audit", "verify").exit_code == 0


def test_audit_repair_run_first_moves_a_torn_record_aside(home: Path):
    log, complete = torn_trail(home)
    repaired = invoke("audit", "repair")
    assert repaired.exit_code == 0 and "Repaired (torn)" in repaired.output
    [moved] = (home / "logs/audit/quarantine").iterdir()
    assert moved.read_bytes() == TORN
    assert repaired_record(log, complete)["actor"].startswith("user:")
    assert invoke("audit", "verify").exit_code == 0
    assert invoke("run", "counting-bot").exit_code == 0
    all_six_done_and_verified(home)


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
