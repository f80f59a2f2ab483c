"""The change-of-circumstances bot's own logic (the browser parts are in tests/integration)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from borough import NeedsReviewError
from borough_examples.bots.change_of_circumstances import ChangeOfCircumstances, Settings
from borough_examples.records import CtrChange
from borough_examples.screens.caseflow import CaseworkScreens, weekly_text
from connectors.web import WebSession

ROOT = Path(__file__).resolve().parents[3]
CHANGE = CtrChange.model_validate(
    {
        "Claim Ref": "HB300001",
        "NI Number": "CE 30 00 01 B",
        "Surname": "Ó Súilleabháin",
        "Forenames": "Chloë",
        "Council Tax Account": "CT4000137",
        "Change Type": "CHANGE",
        "Effective From": "15/08/2026",
        "Weekly CTR": "£42.66",
        "Postcode": "M1 1AE",
    }
)


def case(ref: str, change: str = "CHANGE", effective: str = "15/08/2026", weekly: str = "£42.66",
         status: str = "Open") -> dict[str, str]:  # fmt: skip
    return {"Case Ref": ref, "Change": change, "Effective": effective, "Weekly": weekly,
            "Status": status}  # fmt: skip


class FakeScreens:
    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.rows = rows
        self.searched: list[str] = []

    def search(self, claim_ref: str) -> list[dict[str, str]]:
        self.searched.append(claim_ref)
        return self.rows


def existing(rows: list[dict[str, str]]):
    return ChangeOfCircumstances()._existing(FakeScreens(rows), CHANGE)  # type: ignore[arg-type]


def test_the_bundled_sample_reads_as_28_items_and_3_malformed_rows():
    ctx = SimpleNamespace(inputs={"notifications": ROOT / "sample-data/coc_notifications.csv"})
    items = list(ChangeOfCircumstances().items(ctx))  # type: ignore[arg-type]
    assert len(items) == 31
    invalid = [item for item in items if not item.valid]
    assert [item.key for item in invalid] == ["HB300004", "HB300014", "HB300024"]
    assert "NI Number: not a valid National Insurance number" in (invalid[0].invalid or "")
    assert items[0].key == "HB300000:NEW:2026-06-26"


def test_no_matching_case_means_create_one():
    assert existing([]) is None
    assert existing([case("CW-000001", change="NEW"), case("CW-000002", effective="01/08/2026")])\
        is None  # fmt: skip


def test_a_matching_case_is_returned_and_a_draft_is_marked_as_such():
    assert existing([case("CW-000007")]).reference == "CW-000007"
    draft = existing([case("CW-000008", weekly="", status="Draft")])
    assert draft.status == "Draft"


def test_a_matching_case_with_another_amount_needs_a_person():
    with pytest.raises(NeedsReviewError, match=r"CW-000009 .* £12\.00, not £42\.66"):
        existing([case("CW-000009", weekly="£12.00")])
    with pytest.raises(NeedsReviewError, match="several cases"):
        existing([case("CW-000010"), case("CW-000011")])


def test_find_existing_reports_only_finished_cases(monkeypatch):
    bot = ChangeOfCircumstances()
    ctx = SimpleNamespace(settings=Settings(), app=lambda name, kind: object())
    item = SimpleNamespace(data=CHANGE, key=CHANGE.key)
    rows = [case("CW-000012", weekly="", status="Draft")]
    monkeypatch.setattr(CaseworkScreens, "search", lambda self, claim: rows)
    assert bot.find_existing(ctx, item) is None  # type: ignore[arg-type]
    rows[0] = case("CW-000012")
    assert bot.find_existing(ctx, item) == "CW-000012"  # type: ignore[arg-type]


def test_amounts_are_written_the_way_caseflow_shows_them():
    from decimal import Decimal

    assert weekly_text(Decimal("1234.5")) == "£1,234.50"
    assert ChangeOfCircumstances.declares_intent
    assert set(ChangeOfCircumstances.personal) == {"nino", "surname", "forenames", "postcode"}
    assert WebSession.kind == "web"


def test_an_excel_export_with_real_dates_and_numbers_reads_the_same(tmp_path: Path):
    from datetime import datetime

    from openpyxl import Workbook

    source = ROOT / "sample-data/coc_notifications.csv"
    csv_items = list(
        ChangeOfCircumstances().items(SimpleNamespace(inputs={"notifications": source}))
    )  # type: ignore[arg-type]
    book = Workbook()
    sheet = book.active
    lines = source.read_text(encoding="utf-8").splitlines()
    sheet.append(lines[0].split(","))
    for line in lines[1:]:
        cells: list[object] = line.split(",")
        with contextlib.suppress(ValueError):  # real dates and numbers, as in an export
            cells[6] = datetime.strptime(str(cells[6]), "%d/%m/%Y")
        cells[7] = float(str(cells[7]).lstrip("£"))
        sheet.append(cells)
    workbook = tmp_path / "notifications.xlsx"
    book.save(workbook)
    xlsx_items = list(
        ChangeOfCircumstances().items(SimpleNamespace(inputs={"notifications": workbook}))
    )  # type: ignore[arg-type]
    assert [i.key for i in xlsx_items] == [i.key for i in csv_items]
    assert [i.data for i in xlsx_items if i.valid] == [i.data for i in csv_items if i.valid]


def test_forms_e_mailed_in_are_read_from_their_attachments(tmp_path: Path):
    """The sample message (what a mailbox trigger hands the run): a CSV and an Excel form."""
    message = tmp_path / "form.eml"
    message.write_bytes((ROOT / "sample-data/coc_forms_by_email.eml").read_bytes())
    ctx = SimpleNamespace(inputs={"notifications": message})
    items = list(ChangeOfCircumstances().items(ctx))  # type: ignore[arg-type]
    assert [item.key for item in items] == [
        "HB300101:CHANGE:2026-09-01",
        "HB300102:CHANGE:2026-09-08",
        "HB300103:CHANGE:2026-09-15",
    ]
    assert all(item.valid for item in items)
    assert items[0].data is not None and str(items[0].data.weekly_amount) == "18.40"
