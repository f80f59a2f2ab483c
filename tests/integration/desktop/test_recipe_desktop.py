"""The desktop demo bot as a recipe keys the same records into the real Tk client as the
Python bot does, from the same report (faults included: the client locks records)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
