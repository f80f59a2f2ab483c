"""The unchanged desktop bot against the revenues client published as pixels only (Xvnc +
TigerVNC viewer, no shared clipboard): every value typed, read back by OCR and verified.

The published session is started by the test and stays up across the bot's runs (as a
robot's remote session would); each run attaches to whatever the last one left on screen.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from borough.ledger import ItemState, RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import runtime_in
from connectors.desktop.ocr import Ocr, Reading
from tests.support.casework import (
    BOT,
    app_events,
    app_records,
    assert_held_once_each,
    casework_rows,
    expected_record,
    start_bot_run,
)
from tests.support.published import published_client, published_home, require_published
from tests.support.reliability import Kills, after, count_action, finish

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]
ROWS = 25


@pytest.fixture(autouse=True)
def _published_tools() -> None:
    require_published()


@pytest.mark.timeout(420)  # about 2 minutes on the shared 2-core machine
def test_twenty_five_records_read_back_by_ocr_survive_sigkill_and_rerun(
    tmp_path: Path, desktop_display: str
):
    rng = random.Random(4)
    rows = casework_rows(ROWS, seed=4)
    home = published_home(
        tmp_path,
        rows,
        attach=True,
        borough={"ledger": {"lease_seconds": 600}, "audit": {"checkpoint_every": 500}},
    )
    with published_client(home, desktop_display, "--lock-rate", "0.05", "--seed", "4"):
        kills = Kills(rng)
        for done in (2, 7, 12):  # kill mid-item, a few items into each run
            point = after(home, "item.done", more=done - count_action(home, "item.done"))
            run = start_bot_run(home, desktop_display)
            kills.at(run, point, what=f"{done} items", jitter=3.0, timeout=180)
        code, output = finish(start_bot_run(home, desktop_display), timeout=600)
        assert code == 0, output
    assert kills.landed == 3, kills.report()

    held = assert_held_once_each(home, rows)
    assert {"Ó Súilleabháin", "Dvořák", "Łukasiewicz", "Øvergård"} <= {
        r["surname"] for r in held.values()
    }
    # every record saved was first read back whole, field by field, off the screen
    trail = (home / "logs/audit/audit.jsonl").read_text(encoding="utf-8")
    assert trail.count('"step":"form.verified"') >= ROWS


def test_an_ocr_misread_is_caught_and_nothing_is_saved_wrong(
    tmp_path: Path, desktop_display: str, monkeypatch: pytest.MonkeyPatch
):
    rows = casework_rows(5, seed=8)
    misread, unsure = rows[1]["Surname"], rows[2]["Forenames"]
    rows[3]["Surname"] = "Montgomery-Fitzwilliam Ó Súilleabháin"  # the client keeps 30
    rows[4]["Surname"] = "Dvořák"  # the client shows and keeps "Dvorák" (--unstorable ř)
    assert not any("ř" in v for row in rows[:4] for v in row.values())
    true_verify = Ocr.verify

    def verify(self: Ocr, image: object, kind: str, expected: str, least: float) -> Reading:
        if expected == misread:  # OCR sure of a wrong reading, every time it looks
            return Reading(expected[:-1] + "x", 96.0, "injected")
        if expected == unsure:  # OCR cannot tell
            return Reading(expected, least - 20, "injected")
        return true_verify(self, image, kind, expected, least)

    monkeypatch.setattr(Ocr, "verify", verify)
    home = published_home(tmp_path, rows, attach=True)
    client = published_client(home, desktop_display, "--unstorable", "ř")
    with client, runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest(BOT))
        items = {i.key: i for i in runtime.ledger.items.list(bot=BOT, limit=10, unseal=True)}
    assert run.status is RunStatus.COMPLETED_WITH_FAILURES

    keys = [row["Case Reference"] for row in rows]
    assert items[keys[0]].state is ItemState.DONE
    assert items[keys[1]].state is ItemState.FAILED
    assert "field 'Surname' does not hold what was entered" in (items[keys[1]].error or "")
    assert items[keys[2]].state is ItemState.NEEDS_REVIEW
    assert "'Forenames' could not be read back with confidence" in (items[keys[2]].error or "")
    # the client really cut the long surname: OCR saw it, the record was never saved
    assert items[keys[3]].state is ItemState.FAILED
    assert "field 'Surname' does not hold what was entered" in (items[keys[3]].error or "")
    # the client showed one letter wrong: OCR read what was shown, not what was expected
    assert items[keys[4]].state is ItemState.FAILED
    assert "field 'Surname' does not hold what was entered: the text differs" in (
        items[keys[4]].error or ""
    )

    held = app_records(home)
    assert set(held) == {keys[0]}, "nothing saved that was not read back as entered"
    assert {k: held[keys[0]][k] for k in expected_record(rows[0])} == expected_record(rows[0])
    assert app_events(home)["saved"] == 1
