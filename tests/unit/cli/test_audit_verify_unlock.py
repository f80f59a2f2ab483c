"""`borough audit verify` unlocks the secret store only when the trail needs its key.

A trail that ends at its signed head is proven by the head's signature with the key the
ledger registered for this machine: no passphrase asked, no Argon2. Records after the head
(only their MACs prove them) and every problem are judged with the key, as before, so a
forged tail is still named at its first record and the exit codes stay 0 / 4 / 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import borough.runtime
from borough.audit import records
from borough.cli import app
from borough.testing import home_env
from tests.support.installs import counting_home, people
from tests.support.tamper import forged_record

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = counting_home(tmp_path / "home", people(3))
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    assert invoke("run", "counting-bot").exit_code == 0
    return home


@pytest.fixture
def unlocks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every unlock of the secret store (each one an Argon2 derivation in production)."""
    calls: list[str] = []
    real = borough.runtime.unlock_installation

    def counted(*args, **kwargs):
        calls.append("unlock")
        return real(*args, **kwargs)

    monkeypatch.setattr(borough.runtime, "unlock_installation", counted)
    return calls


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def forge_after_head(home: Path, count: int) -> int:
    """Append ``count`` records chained to the last one, with made-up MACs; the first's seq."""
    log = home / "logs/audit/audit.jsonl"
    rows = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
    first = rows[-1]["seq"] + 1
    for i in range(count):
        rows.append(forged_record(rows[-1], "item.done", i))
    log.write_text("".join(records.canonical_json(row) + "\n" for row in rows), "utf-8")
    return first


def test_a_trail_ending_at_its_signed_head_verifies_without_unlocking(
    home: Path, unlocks: list[str]
):
    result = invoke("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "no unlock" in result.output
    assert unlocks == []


def test_no_passphrase_is_asked_when_the_signed_head_proves_the_trail(
    home: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOROUGH_SECRETS_PASSPHRASE", "not-the-passphrase")
    assert invoke("audit", "verify").exit_code == 0
    # the same wrong passphrase where the key is needed: verification cannot run (3)
    full = invoke("audit", "verify", "--full")
    assert full.exit_code == 3, full.output


def test_full_still_unlocks_and_checks_every_mac(home: Path, unlocks: list[str]):
    result = invoke("audit", "verify", "--full")
    assert result.exit_code == 0, result.output
    assert "every record's MAC checked" in result.output
    assert unlocks == ["unlock"]


def test_verbose_says_the_verified_point_was_not_saved(home: Path, unlocks: list[str]):
    result = invoke("audit", "verify", "--verbose")
    assert result.exit_code == 0, result.output
    assert "verified point was not saved" in result.output
    assert "verified point was not saved" not in invoke("audit", "verify").output


@pytest.mark.parametrize("count", [1, 50])
def test_records_forged_after_the_head_are_caught_with_the_key(
    home: Path, unlocks: list[str], count: int
):
    first = forge_after_head(home, count)
    result = invoke("audit", "verify")
    assert result.exit_code == 4, result.output
    assert "TAMPERED" in result.output and f"record {first}" in result.output
    assert "MAC does not match" in result.output
    assert unlocks == ["unlock"]


def test_tampering_before_the_head_is_named_as_before(home: Path, unlocks: list[str]):
    log = home / "logs/audit/audit.jsonl"
    lines = log.read_text("utf-8").splitlines(keepends=True)
    del lines[3]
    log.write_text("".join(lines), "utf-8")
    result = invoke("audit", "verify")
    assert result.exit_code == 4, result.output
    assert "TAMPERED missing at record 4" in result.output
