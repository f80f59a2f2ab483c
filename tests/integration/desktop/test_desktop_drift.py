"""UI drift on the desktop: the Tk revenues client's next version renames its change form."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from borough.cli import app as cli
from borough.ledger import RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import home_env, runtime_in
from borough_examples.screens.revenues_client import IMAGES
from tests.support.casework import APP, BOT, app_command, app_records, casework_rows, desktop_home

pytestmark = [pytest.mark.xvfb]

OLD, NEW = "New CTR change", "New Council Tax Reduction change"


def nightly(home: Path) -> RunRequest:
    return RunRequest(BOT, trigger="schedule:nightly", schedule="nightly")


def test_a_renamed_form_stops_the_scheduled_run_until_its_fix_is_accepted(
    tmp_path: Path, desktop_display
):
    rows = casework_rows(2, seed=9)
    screens = {
        "change form": {
            "reach": "ctrl+n",
            "elements": {
                "window": f"title:{OLD}",
                "weekly amount label": f"image:{IMAGES / 'weekly_amount_label.png'}",
            },
        }
    }
    home = desktop_home(
        tmp_path, rows, command=[*app_command(), "--next-version"], app={"screens": screens}
    )
    with runtime_in(home) as runtime:
        run = run_bot(runtime, nightly(home))
        assert runtime.ledger.items.list(bot=BOT, limit=10) == [], "no item recorded"
    assert run.status is RunStatus.FAILED
    assert f"change form / window 'title:{OLD}' -> 'title:{NEW}'" in (run.error or "")
    assert "weekly amount label" not in (run.error or ""), "the label image still matches"
    assert app_records(home) == {}

    result = CliRunner().invoke(
        cli, ["check", "app", APP, "--accept", "--yes", "--by", "Sam Okafor"], env=home_env(home)
    )
    assert result.exit_code == 0, result.output
    entry = yaml.safe_load((home / "config/apps.yaml").read_text(encoding="utf-8"))["apps"][APP]
    assert entry["screens"]["change form"]["elements"]["window"] == f"title:{NEW}"
    assert NEW in entry["home_keys"] and OLD not in entry["home_keys"], "renamed where keyed"

    with runtime_in(home) as runtime:
        run = run_bot(runtime, nightly(home))
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert set(app_records(home)) == {row["Case Reference"] for row in rows}
