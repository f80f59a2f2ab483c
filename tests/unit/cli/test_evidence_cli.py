"""``borough evidence``: list with hash checks, show and export only with a purpose and the
keys, the view recorded before anything is printed or written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.evidence.access import listed
from borough.testing import TEST_PASSPHRASE, home_env, runtime_in
from tests.support.installs import counting_home, people

runner = CliRunner()
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # every write needs a lookup after it, and the failure leaves the app's state as evidence
    home = counting_home(tmp_path, people(2), target={"fail_after_rate": 1.0, "seed": 1})
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    assert invoke("run", "counting-bot").exit_code == 0  # found by lookup after each failure
    with runtime_in(home) as runtime:  # a binary piece, as a connector captures one
        run = runtime.ledger.runs.list(limit=1)[0].id
        runtime.evidence(run).save(runtime.trail, "shot.png", PNG, kind="screenshot", item="p_x")
    return home


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def audit(home: Path) -> list[dict]:
    lines = (home / "logs/audit/audit.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines]


def paths(home: Path) -> dict[str, str]:
    with runtime_in(home) as runtime:
        found = listed(runtime.paths.audit)
    return {Path(c.relative).name.rsplit("-", 1)[-1]: c.relative for c in found}


def test_list_checks_each_file_against_the_trail(home: Path):
    listing = invoke("evidence", "list")
    assert listing.exit_code == 0, listing.output
    assert "state.txt" in listing.output and "shot.png" in listing.output
    assert "intact" in listing.output and "altered" not in listing.output
    shot = home / "logs" / paths(home)["shot.png"]
    sealed = shot.read_bytes()  # ciphertext: its last byte is \0 one time in 256
    shot.write_bytes(sealed[:-1] + bytes([sealed[-1] ^ 0xFF]))
    assert "altered" in invoke("evidence", "list").output


def test_show_and_export_need_a_purpose_and_are_recorded_first(home: Path, tmp_path: Path):
    found = paths(home)
    missing = invoke("evidence", "show", found["state.txt"])
    assert missing.exit_code == 2 and "--purpose" in missing.output
    shown = invoke("evidence", "show", found["state.txt"], "--purpose", "item 1 failed: why")
    assert shown.exit_code == 0 and "records held:" in shown.output
    binary = invoke("evidence", "show", found["shot.png"], "--purpose", "what did it show")
    assert binary.exit_code == 3 and "borough evidence export" in binary.output
    out = tmp_path / "shot.png"
    exported = invoke(
        "evidence", "export", found["shot.png"], "--purpose", "complaint 42", "-o", str(out)
    )
    assert exported.exit_code == 0, exported.output
    assert out.read_bytes() == PNG  # byte for byte what was captured
    assert os.stat(out).st_mode & 0o077 == 0
    again = invoke("evidence", "export", found["shot.png"], "--purpose", "again", "-o", str(out))
    assert again.exit_code == 3 and "--force" in again.output
    records = [r for r in audit(home) if r["action"] in ("evidence.viewed", "evidence.exported")]
    opened = [(r["action"], r["detail"]["path"], r["detail"]["purpose"]) for r in records]
    assert opened == [
        ("evidence.viewed", found["state.txt"], "item 1 failed: why"),
        ("evidence.exported", found["shot.png"], "complaint 42"),
    ]
    assert records[0]["actor"].startswith("user:")


def test_without_the_keys_nothing_opens(home: Path, monkeypatch: pytest.MonkeyPatch):
    found = paths(home)
    monkeypatch.setenv("BOROUGH_SECRETS_PASSPHRASE", TEST_PASSPHRASE + "-wrong")
    wrong = invoke("evidence", "show", found["state.txt"], "--purpose", "trying my luck")
    assert wrong.exit_code == 3 and "records held" not in wrong.output
    monkeypatch.delenv("BOROUGH_SECRETS_PASSPHRASE", raising=False)
    none = invoke("evidence", "show", found["state.txt"], "--purpose", "trying my luck")
    assert none.exit_code == 3 and "records held" not in none.output
    stored = (home / "logs" / found["state.txt"]).read_bytes()
    assert b"records held" not in stored
