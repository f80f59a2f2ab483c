"""The CSV → Excel bot on the bundled sample export."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from borough.ledger import ItemState, RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import runtime_in

BOT = "benefits-to-revenues"


def workbook_rows(home: Path) -> list[tuple]:
    book = load_workbook(home / "var/targets/revenues/ctr_import.xlsx")
    rows = list(book["CTR Import"].iter_rows(values_only=True))
    book.close()
    return rows


def test_sample_export_lands_once_in_the_import_workbook(home: Path):
    with runtime_in(home) as runtime:
        first = run_bot(runtime, RunRequest(BOT))
        second = run_bot(runtime, RunRequest(BOT))
        failed = runtime.ledger.items.list(bot=BOT, states=[ItemState.FAILED])
    assert first.status is RunStatus.COMPLETED_WITH_FAILURES
    assert (first.counts.done, first.counts.failed) == (20, 4)
    assert second.counts.done == 0 and second.counts.already_done == 20
    reasons = sorted(f"{item.source}: {item.error}" for item in failed)
    assert any("row 7: NI Number: not a valid National Insurance number" in r for r in reasons)
    assert any("row 13: Effective From: date does not exist" in r for r in reasons)
    assert any("row 19: Council Tax Account: Field required" in r for r in reasons)
    assert any("row 22: weekly reduction above the scheme maximum of £400.00" in r for r in reasons)
    rows = workbook_rows(home)
    assert rows[0][:3] == ("Import Reference", "Source Key", "Account")
    assert len(rows) == 21
    assert len({row[1] for row in rows[1:]}) == 20


def test_conversion_to_the_revenues_layout(home: Path):
    with runtime_in(home) as runtime:
        run_bot(runtime, RunRequest(BOT))
    first = workbook_rows(home)[1]
    # sample row 2: HB100200, PH 41 40 02 A, Smith, Amelia, CT4400000, NEW, 27/11/2026, £8.85
    assert first == (
        "CTR-000001",
        "HB100200:NEW:2026-11-27",
        "CT4400000",
        "HB100200",
        "SMITH, Amelia",
        "PH414002A",
        "LS1 4AP",
        "N",
        "2026-11-27",
        8.85,
        460.2,
    )


def test_accented_names_survive_the_round_trip(home: Path):
    with runtime_in(home) as runtime:
        run_bot(runtime, RunRequest(BOT))
    names = {row[4] for row in workbook_rows(home)[1:]}
    assert {"Ó SÚILLEABHÁIN, Freya", "JOHNSON, Zoë", "ZOË-ANN, Jacob"} <= names
