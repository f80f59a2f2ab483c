"""The desktop demo bot as a recipe keys the same records into the real Tk client as the
Python bot does, from the same report (faults included: the client locks records)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from borough.ledger import RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import runtime_in
from tests.support.casework import (
    BOT,
    RECIPE,
    app_command,
    app_events,
    app_records,
    casework_rows,
    desktop_home,
    expected_record,
)

pytestmark = [pytest.mark.xvfb, pytest.mark.slow, pytest.mark.timeout(300)]

#: what the client holds that depends on the row, not on when or by whom it was keyed
KEPT = tuple(expected_record(casework_rows(1)[0]))


def held_by(bot: str, root: Path, rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    home = desktop_home(root, rows, command=app_command(lock_rate=0.12, seed=5), bot=bot)
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest(bot))
        again = run_bot(runtime, RunRequest(bot))
        items = runtime.ledger.items.list(bot=bot, limit=100, unseal=True)
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.counts.done == len(rows) and again.counts.already_done == len(rows)
    held = app_records(home)
    assert app_events(home)["saved"] == len(rows), "each record saved once"
    assert {item.key: item.reference for item in items} == {
        case: record["reference"] for case, record in held.items()
    }
    return {case: {k: record[k] for k in KEPT} for case, record in held.items()}


def test_the_recipe_keys_what_the_python_bot_keys(tmp_path: Path, desktop_display):
    rows = casework_rows(12, seed=11)
    python = held_by(BOT, tmp_path / "python", rows)
    recipe = held_by(RECIPE, tmp_path / "recipe", rows)
    assert recipe == python
    assert set(recipe) == {row["Case Reference"] for row in rows}
    for row in rows:
        assert recipe[row["Case Reference"]] == expected_record(row)


def test_a_recipe_reads_a_field_back_and_branches_on_it(tmp_path: Path, desktop_display):
    """``read`` takes a field's text from the real client (accents and all, through the
    clipboard), and an ``if`` on it picks the branch: here the forenames are typed from the
    surname read back, so the client holds what was read, exactly."""
    rows = casework_rows(3, seed=12)
    home = desktop_home(tmp_path, rows, command=app_command(seed=5), bot=RECIPE)
    file = home / "config" / "bots" / f"{RECIPE}.yaml"
    config = yaml.safe_load(file.read_text(encoding="utf-8"))
    steps = config["recipe"]["steps"]
    at = next(i for i, s in enumerate(steps) if s.get("fill", {}).get("field") == "Forenames")
    steps[at : at + 1] = [
        {"read": {"field": "Surname", "key": "alt+u", "into": "shown"}},
        {
            "if": {"equals": ["{{ shown }}", "{{ surname }}"]},
            "then": [{"fill": {"field": "Forenames", "key": "alt+f", "value": "{{ shown }}"}}],
            "else": [{"keys": "escape"}],  # the form closes: the item fails, never saved
        },
    ]
    file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest(RECIPE))
    assert run.status is RunStatus.SUCCEEDED, run.error
    held = app_records(home)
    assert {case: record["forenames"] for case, record in held.items()} == {
        row["Case Reference"]: row["Surname"] for row in rows
    }
    assert any(any(ord(c) > 127 for c in row["Surname"]) for row in rows), "accents read back"
