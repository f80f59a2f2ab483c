"""`--json` on every list and show command: the table's facts, parseable, nothing more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.testing import home_env
from tests.support.installs import counting_home, people


@pytest.fixture
def ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rows = people(3)
    rows[2]["Amount"] = 999  # a business rule: one FAILED item
    home = counting_home(tmp_path, rows)
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["run", "counting-bot", "-q"])
    assert result.exit_code == 1, result.output
    return home


def as_json(*args: str) -> object:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_runs_and_items_as_json(ran: Path):
    (run,) = as_json("runs", "list")
    assert run["bot"] == "counting-bot" and run["status"] == "completed_with_failures"
    assert run["counts"]["done"] == 2 and run["counts"]["failed"] == 1
    assert run["started_at"].endswith("+00:00")
    shown = as_json("runs", "show", run["id"])
    assert shown["id"] == run["id"] and len(shown["items"]) == 3
    items = as_json("items", "list")
    assert sorted(item["state"] for item in items) == ["done", "done", "failed"]
    assert all(item["key_token"].startswith("p_") for item in items)
    text = json.dumps(items)
    assert "R0001" not in text and "Person 3" not in text  # keys and names stay sealed
    failed = next(item for item in items if item["state"] == "failed")
    one = as_json("items", "show", str(failed["id"]))
    assert one["error"] == failed["error"] and "key" not in one
    revealed = as_json("items", "show", str(failed["id"]), "--reveal")
    assert revealed["key"] == "R0003" and revealed["data"]["ref"] == "R0003"


def test_secrets_keys_schedules_and_evidence_as_json(ran: Path):
    assert as_json("secrets", "list") == []
    keys = as_json("keys", "show")
    assert keys["ok"] is True and keys["fingerprint"].startswith("sha256:")
    assert as_json("schedules", "list") == {"scheduler": None, "schedules": [], "triggers": []}
    assert as_json("schedules", "status")["queued"] == 0
    evidence = as_json("evidence", "list")
    assert evidence and {entry["check"] for entry in evidence} == {"intact"}
