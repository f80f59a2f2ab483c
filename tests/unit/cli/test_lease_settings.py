"""Lease settings: impossible values are errors naming the line, unsafe ones are warned about."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.testing import home_env
from tests.support.installs import counting_home, people

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = counting_home(tmp_path, people(2))
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    return home


def check(home: Path, ledger: str):
    (home / "config/borough.yaml").write_text(f"ledger:\n{ledger}", encoding="utf-8")
    result = runner.invoke(app, ["config", "check"], catch_exceptions=False)
    return result.exit_code, " ".join(result.output.split())


def test_a_heartbeat_not_below_the_lease_is_an_error(home: Path):
    code, output = check(home, "  lease_seconds: 10\n  heartbeat_seconds: 10\n")
    assert code == 3
    assert "borough.yaml:3 [ledger.heartbeat_seconds]" in output
    assert "heartbeat_seconds (10) must be below lease_seconds (10)" in output


def test_unsafe_but_legal_values_are_warned_about(home: Path):
    ledger = "  lease_seconds: 2\n  heartbeat_seconds: 1\n  adopt_grace_seconds: 0.5\n"
    code, output = check(home, ledger)
    assert code == 0 and "configuration OK" in output
    assert "heartbeat_seconds (1) is not well below ledger.lease_seconds (2)" in output
    assert "ledger.lease_seconds is 2" in output
    assert "adopt_grace_seconds (0.5) is below two heartbeats" in output


def test_the_shipped_values_draw_no_warning(home: Path):
    code, output = check(home, "  lease_seconds: 300\n  heartbeat_seconds: 20\n")
    assert code == 0 and "!" not in output
