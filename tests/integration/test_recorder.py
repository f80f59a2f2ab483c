# ruff: noqa: E501  (YAML lines of a recipe read best whole)
"""Record a scripted session against Caseflow, mark the save and find_existing as an
author would, and run the recipe: every row becomes one case, and a re-run adds none."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
import yaml

from borough.ledger import ItemState
from borough.recipes.recorder import recording_session
from borough.runner import RunRequest, run_bot
from borough.testing import runtime_in
from sandbox.web import SandboxConfig, serve_in_thread
from sandbox.web.data import notifications
from tests.support.web import PASSWORD, USER, require_chromium, web_home

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
BOT = "recorded-coc"
#: the values the person types in the recording (one notification by hand)
TYPED = {
    "#txtClaimRef": "HB399001",
    "#txtCtAcc": "CT4000005",
    "#txtSurname": "Recordwick",
    "#txtForenames": "Ada",
    "#txtNino": "AB300000A",
    "#txtEffDate": "01/12/2026",
    "#txtWeekly": "12.50",
    "#txtPostcode": "LS1 4AP",
    "#txtNotes": "keyed by hand",
}
#: what the author adds: the save marked, and how to find a case already in the app
SAVE = (
    "    - save: {element: case form/save, frame: content, "
    "confirm: saved case/confirmation, reference: saved case/case reference}\n"
)
FIND = """\
  find_existing:
    steps:
      - click: {element: menu/case search, frame: nav, opens: search}
      - fill: {element: search window/claim reference, window: search, value: "{{ claim_reference }}"}
      - click: {element: search window/search, window: search, loads: true}
      - find_row: {element: search results/results, window: search, where: {Effective: "{{ effective_date }}"}, into: case}
    found: "{{ case['Case Ref'] }}"
"""


def record(home: Path) -> str:
    with (
        runtime_in(home) as runtime,
        recording_session(runtime, "casework", headless=True) as (
            page,
            recording,
        ),
    ):
        page.frame(name="nav").click("#lnkNewCase")  # type: ignore[union-attr]
        content = page.frame(name="content")
        assert content is not None
        content.wait_for_selector("#txtClaimRef")
        for selector, value in TYPED.items():
            content.fill(selector, value)
        content.select_option("#ddlChangeType", "N")
        content.click("#btnSave")
        content.wait_for_selector("#saveMsg")
        return recording.draft(BOT)


def test_a_recorded_session_marked_by_its_author_runs_green(tmp_path: Path):
    require_chromium()
    config = SandboxConfig(store=tmp_path / "caseflow.sqlite", users={USER: PASSWORD})
    rows = [n for n in notifications(8, seed=12) if n.expect == "valid"][:4]
    with serve_in_thread(config) as app:
        home = web_home(tmp_path / "home", app.url, [])
        draft = record(home)
        for value in TYPED.values():
            assert value not in draft, "a typed value is never written down"
        doc = yaml.safe_load(draft)
        columns = {name: spec["column"] for name, spec in doc["recipe"]["columns"].items()}
        assert columns == {  # named after the labels, in no particular order
            "notes": "Notes",
            "claim_reference": "Claim reference",
            "council_tax_account": "Council Tax account",
            "surname": "Surname",
            "forenames": "Forenames",
            "ni_number": "NI number",
            "effective_date": "Effective date",
            "weekly_amount": "Weekly amount",
            "postcode": "Postcode",
            "change_type": "Change type",
        }
        steps = draft.split("  steps:\n", 1)[1]
        assert steps.startswith("    - click: {element: menu/new case, frame: nav, loads: content}")
        assert (
            '    - select: {element: case form/change type, frame: content, value: "{{ change_type }}"}'
            in steps
        )
        save_line = "    - click: {element: case form/save, frame: content, loads: true}\n"
        assert save_line in steps

        marked = draft.replace(save_line, SAVE)
        marked = marked.replace("  steps:\n", FIND + "  steps:\n")
        marked = marked.replace(
            f"inputs: {{csv: input/{BOT}.csv}}",
            f"inputs: {{csv: input/{BOT}.csv}}\nmanual_minutes_per_item: 5",
        )
        (home / "config" / "bots" / f"{BOT}.yaml").write_text(marked, encoding="utf-8")
        header = list(columns.values())
        by_name = {
            "claim_reference": "Claim Ref", "council_tax_account": "Council Tax Account",
            "surname": "Surname", "forenames": "Forenames", "ni_number": "NI Number",
            "effective_date": "Effective From", "postcode": "Postcode",
        }  # fmt: skip
        lines = [",".join(header)]
        for n in rows:
            values = {name: n.row[source] for name, source in by_name.items()}
            values["weekly_amount"] = n.row["Weekly CTR"].lstrip("£")
            values["change_type"] = n.row["Change Type"][0]
            values["notes"] = "recorded recipe"
            lines.append(",".join(f'"{values[name]}"' for name in columns))
        (home / "input").mkdir(exist_ok=True)
        (home / "input" / f"{BOT}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        with runtime_in(home) as runtime:
            first = run_bot(runtime, RunRequest(BOT))
            second = run_bot(runtime, RunRequest(BOT))
            items = runtime.ledger.items.list(bot=BOT, limit=100)
    assert first.error is None and first.counts.done == len(rows), first.counts
    assert second.counts.done == 0 and second.counts.already_done == len(rows)
    assert {item.state for item in items} == {ItemState.DONE}
    with contextlib.closing(sqlite3.connect(config.store)) as db:
        claims = sorted(
            r[0]
            for r in db.execute("SELECT claim_ref FROM cases WHERE notes = ?", ("recorded recipe",))
        )
        hand = db.execute("SELECT COUNT(*) FROM cases WHERE claim_ref = 'HB399001'").fetchone()[0]
    assert claims == sorted(n.row["Claim Ref"] for n in rows)
    assert hand == 1, "the recorded session itself saved one case (the person's)"
