"""The case report download (CSV with BOM, or Excel), in the layout other systems rely on."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from sandbox.web.store import Case

COLUMNS = (
    "Case Reference",
    "Claim Reference",
    "Council Tax Account",
    "Surname",
    "Forenames",
    "NI Number",
    "Change Type",
    "Effective Date",
    "Weekly Amount",
    "Postcode",
    "Status",
    "Created At",
)


def report_rows(cases: Sequence[Case]) -> list[list[str]]:
    return [
        [
            case.case_ref,
            case.claim_ref,
            case.account,
            case.surname,
            case.forenames,
            case.nino,
            case.change_type,
            case.effective_text,
            case.weekly_text,
            case.postcode,
            case.status,
            case.created_at,
        ]
        for case in cases
    ]


def report_csv(cases: Sequence[Case]) -> bytes:
    """UTF-8 with a byte-order mark, CRLF line ends: what Excel users expect to open."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(report_rows(cases))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def report_xlsx(cases: Sequence[Case]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Cases"
    sheet.append(list(COLUMNS))
    for row in report_rows(cases):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
