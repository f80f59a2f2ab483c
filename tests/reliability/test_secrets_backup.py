"""The documented key backup and restore, end to end, and what a restore refuses."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.audit.reading import iter_records
from borough.cli import app
from borough.testing import counted_writes, home_env
from tests.support.keys import Snapshot, installed, item_tokens, ledger_fingerprint, store_file

runner = CliRunner()


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = installed(tmp_path / "home")
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    return home


def actions(home: Path) -> list[dict]:
    return [r for r in iter_records(home / "logs" / "audit") if r["action"].startswith("keys.")]


def test_backup_then_restore_after_losing_the_store_and_runs_go_on_with_the_same_tokens(
    home: Path, tmp_path: Path
):
    tokens, writes = item_tokens(home), counted_writes(home / "var" / "target.sqlite")
    backup = tmp_path / "offsite" / "borough-keys.backup"

    made = invoke("keys", "backup", "--to", str(backup))

    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup.read_bytes() == store_file(home).read_bytes()
    assert "passphrase" in made.output  # the reminder to keep it elsewhere
    store_file(home).unlink()
    lost = invoke("run", "counting-bot")
    assert lost.exit_code not in (0, 1) and "is missing" in lost.output

    restored = invoke("keys", "restore", str(backup))

    assert restored.exit_code == 0, restored.output
    again = invoke("run", "counting-bot")
    assert again.exit_code == 0, again.output
    assert item_tokens(home) == tokens, "the same rows got the same tokens"
    assert counted_writes(home / "var" / "target.sqlite") == writes, "nothing written twice"
    assert invoke("audit", "verify").exit_code == 0
    assert [r["action"] for r in actions(home)] == ["keys.backup", "keys.restored"]
    assert actions(home)[1]["detail"]["fingerprint"] == ledger_fingerprint(home)


def test_restore_keeps_the_store_it_replaces(home: Path, tmp_path: Path):
    backup = tmp_path / "b.backup"
    assert invoke("keys", "backup", "--to", str(backup)).exit_code == 0
    later = invoke("secrets", "set", "later-secret", "--stdin", input="set after the backup\n")
    assert later.exit_code == 0, later.output
    current = store_file(home).read_bytes()

    restored = invoke("keys", "restore", str(backup))

    assert restored.exit_code == 0, restored.output
    [kept] = store_file(home).parent.glob("secrets.cfg.replaced-*")
    assert kept.read_bytes() == current and str(kept) in restored.output
    assert "later-secret" not in invoke("secrets", "list").output


def test_a_backup_is_never_written_over_an_existing_file(home: Path, tmp_path: Path):
    target = tmp_path / "existing"
    target.write_text("something else")

    result = invoke("keys", "backup", "--to", str(target))

    assert result.exit_code not in (0, 1) and "never overwritten" in result.output
    assert target.read_text() == "something else"


def test_restore_refuses_a_backup_of_another_installation(home: Path, tmp_path: Path):
    other = installed(tmp_path / "other")
    foreign = tmp_path / "foreign.backup"
    shutil.copyfile(store_file(other), foreign)
    before = Snapshot.of(home)

    result = invoke("keys", "restore", str(foreign))

    assert result.exit_code not in (0, 1)
    assert "another installation" in result.output
    assert Snapshot.of(home) == before
    assert not list(store_file(home).parent.glob(".secrets.cfg*"))  # no staged copy left


@pytest.mark.parametrize("problem", ["damaged", "wrong passphrase"])
def test_restore_refuses_a_backup_that_does_not_open(
    home: Path, tmp_path: Path, problem, monkeypatch
):
    backup = tmp_path / "b.backup"
    assert invoke("keys", "backup", "--to", str(backup)).exit_code == 0
    if problem == "damaged":
        backup.write_bytes(backup.read_bytes()[:-100])
    else:
        monkeypatch.setenv("BOROUGH_SECRETS_PASSPHRASE", "another passphrase")
    before = Snapshot.of(home)

    result = invoke("keys", "restore", str(backup))

    assert result.exit_code not in (0, 1)
    assert problem in result.output and str(backup) in result.output
    assert Snapshot.of(home) == before


def test_keys_show_names_the_fingerprint_and_says_ledger_and_trail_agree(home: Path):
    result = invoke("keys", "show")

    assert result.exit_code == 0, result.output
    fingerprint = ledger_fingerprint(home)
    assert fingerprint is not None and fingerprint in result.output
    assert "records these keys" in result.output and "is this signing key" in result.output
    pub = (home / "logs" / "audit" / "audit.pub").read_text()
    assert pub.strip() in result.output
    assert "PRIVATE" not in result.output
    assert json.dumps(result.output)  # printable, nothing binary


def test_keys_show_on_another_installations_store_says_it_does_not_agree(
    home: Path, tmp_path: Path
):
    other = installed(tmp_path / "other")

    result = invoke("keys", "show", "--file", str(store_file(other)))

    assert result.exit_code == 3, result.output
    assert "OTHER keys" in result.output and "ANOTHER key" in result.output
