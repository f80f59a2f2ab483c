"""The casework bot against the real Tk revenues client on Xvfb: what the client holds."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from borough.ledger import ItemState, RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import runtime_in
from borough_examples.screens import revenues_client
from connectors.desktop.screen import Screen
from tests.support.casework import (
    BOT,
    app_command,
    app_events,
    app_records,
    casework_rows,
    desktop_home,
    expected_record,
)
from tests.support.evidence import clear_evidence

pytestmark = [pytest.mark.xvfb, pytest.mark.slow, pytest.mark.timeout(240)]  # 39 s loaded


def test_fifty_records_with_pounds_and_accents_are_held_exactly(tmp_path: Path, desktop_display):
    rows = casework_rows(50, seed=7)
    home = desktop_home(tmp_path, rows, command=app_command(lock_rate=0.12, seed=5))
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest(BOT))
        items = runtime.ledger.items.list(bot=BOT, limit=100, unseal=True)
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.counts.done == 50

    held = app_records(home)
    assert set(held) == {row["Case Reference"] for row in rows}
    for row in rows:
        record = held[row["Case Reference"]]
        assert {k: record[k] for k in expected_record(row)} == expected_record(row)
    assert {"Ó Súilleabháin", "Dvořák", "Łukasiewicz"} <= {r["surname"] for r in held.values()}
    assert {"Zoë", "Siân", "Þóra"} <= {r["forenames"] for r in held.values()}
    assert all(r["weekly_amount"].startswith("£") for r in held.values())
    # the ledger keeps the client's own reference for each case
    assert {item.key: item.reference for item in items} == {
        case: record["reference"] for case, record in held.items()
    }
    events = app_events(home)
    assert events["saved"] == 50, "every record saved exactly once"
    assert events["locked"] >= 2, "the seed injects several 'record locked' errors"
    assert run.counts.retried == events["locked"], "each lock was retried, nothing else failed"


def test_a_record_failing_verification_is_failed_with_a_masked_screenshot(
    tmp_path: Path, desktop_display
):
    rows = casework_rows(4, seed=3)
    rows[1]["Surname"] = "Montgomery-Fitzwilliam Ó Súilleabháin"  # 37 characters, client keeps 30
    rows[2]["Effective Date"] = "15/03/2012"  # the client refuses dates before April 2013
    home = desktop_home(tmp_path, rows, command=app_command())
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest(BOT))
        failed = runtime.ledger.items.list(bot=BOT, states=[ItemState.FAILED], unseal=True)
        audit_text = (runtime.paths.audit / "audit.jsonl").read_text(encoding="utf-8")
        logs = runtime.paths.logs
    assert run.status is RunStatus.COMPLETED_WITH_FAILURES
    assert run.counts.done == 2 and run.counts.failed == 2

    held = app_records(home)
    assert set(held) == {rows[0]["Case Reference"], rows[3]["Case Reference"]}, "never half-saved"
    errors = {item.key: item.error for item in failed}
    assert errors[rows[1]["Case Reference"]] == (
        "field 'Surname' does not hold what was entered: the app kept 30 of 37 characters; "
        "nothing was saved (app revenues-desktop, verify)"
    )
    assert errors[rows[2]["Case Reference"]] == (
        "Effective date is before the scheme began (01/04/2013). "
        "(app revenues-desktop, Validation error)"
    )
    assert "Montgomery" not in audit_text and "Súilleabháin" not in audit_text

    # the screenshot is evidence: stored, hashed into the trail, personal fields blacked out
    token = next(item.key_token for item in failed if item.key == rows[1]["Case Reference"])
    captured = [
        json.loads(line)
        for line in audit_text.splitlines()
        if '"evidence.captured"' in line and token in line
    ]
    shots = [e for record in captured for e in record["evidence"] if e["kind"] == "screenshot"]
    assert len(shots) == 1
    shot_path = logs / shots[0]["path"]
    assert hashlib.sha256(shot_path.read_bytes()).hexdigest() == shots[0]["sha256"]
    clear = clear_evidence(home)
    with Image.open(io.BytesIO(clear[shot_path])) as image:
        shot = image.convert("RGB")
    screen = Screen(":unused", None, 0.9)
    for mask in revenues_client.masks("New CTR change"):
        label = screen.find_in(mask.anchor, shot)
        assert label is not None, f"{mask.anchor} is on the screenshot"
        dx, dy, width, height = mask.box
        box = shot.crop(
            (label.left + dx, label.top + dy, label.left + dx + width, label.top + dy + height)
        )
        assert box.getextrema() == ((0, 0), (0, 0), (0, 0)), f"{mask.anchor} field is masked"
    state = clear[shot_path.parent / "attempt1-revenues-desktop-desktop.txt"].decode("utf-8")
    assert "active window: 'New CTR change'" in state
