"""docs/settings-reference.md is generated from the models that validate config/: CI fails
while it is stale, so the documented keys are always the accepted keys."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from borough.cli import app

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "docs" / "settings-reference.md"
runner = CliRunner()


def test_the_checked_in_settings_reference_is_current():
    result = runner.invoke(app, ["config", "reference", "--check", str(REFERENCE)])
    assert result.exit_code == 0, (
        f"{result.output}\nregenerate: borough config reference --output docs/settings-reference.md"
    )


def test_a_stale_reference_fails_and_says_how_to_regenerate_it(tmp_path: Path):
    stale = tmp_path / "settings-reference.md"
    stale.write_text(REFERENCE.read_text("utf-8").replace("`check_first`", "`checkfirst`"))
    result = runner.invoke(app, ["config", "reference", "--check", str(stale)])
    assert result.exit_code == 3
    assert "is stale" in result.output and "--output" in result.output


def test_the_reference_lists_every_file_kind_and_key_with_its_limits():
    text = runner.invoke(app, ["config", "reference"]).output
    for heading in (
        "## config/borough.yaml",
        "## config/apps.yaml: every app",
        "## config/apps.yaml: kind: web",
        "## config/apps.yaml: kind: desktop",
        "## config/apps.yaml: kind: files",
        "## config/bots/NAME.yaml",
        "## config/schedules.yaml",
    ):
        assert heading in text
    lease = "| `ledger.lease_seconds` | number (≥ 1) | 300 | how long a silent run owns items |"
    assert lease in text
    assert '| `apps.NAME.login.path` | text | "/login" |' in text
    assert "| `save_every` | integer \\| null (≥ 0, ≤ 10000) | none |" in text
    assert "`retry.attempts`" in text and "`inputs.KEY.limits.file_mb`" in text
