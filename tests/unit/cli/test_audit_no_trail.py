"""`borough audit verify` where there is no trail says so, fails, and creates nothing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from borough.cli import app


def test_verify_without_a_trail_fails_and_leaves_the_folder_empty(tmp_path: Path, monkeypatch):
    empty = tmp_path / "not-an-installation"
    empty.mkdir()
    monkeypatch.chdir(empty)
    for name in ("BOROUGH_HOME", "BOROUGH_CONFIG_DIR", "BOROUGH_LOGS_DIR", "BOROUGH_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOROUGH_SECRETS_PASSPHRASE", "any-passphrase")
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 3, result.output
    assert "no audit trail in" in result.output and "nothing to verify" in result.output
    assert "OK" not in result.output
    assert list(empty.iterdir()) == []  # no logs/, var/ or secret store made


def test_a_trail_deleted_from_an_installation_is_tampering_not_absence(tmp_path: Path, monkeypatch):
    from borough.runner import RunRequest, run_bot
    from borough.testing import home_env, runtime_in
    from tests.support.installs import counting_home, people

    home = counting_home(tmp_path / "home", people(2))
    with runtime_in(home) as runtime:
        run_bot(runtime, RunRequest("counting-bot"))
    for trail in (home / "logs" / "audit").iterdir():
        trail.unlink()
    for name, value in home_env(home).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 4, result.output
    assert "no audit trail in" not in result.output
