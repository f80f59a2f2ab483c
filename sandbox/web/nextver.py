"""Caseflow 5.0, the supplier's next version: new ids and labels, and a new case form layout.

A council's casework system is upgraded under its robots from time to time. This module is
what changes: the menu, the search window, the case form (fields regrouped into fieldsets,
Save moved to a toolbar above them) and the reports page. Everything else (sign-in, frames,
results grid, saved page, the server's rules) is as in 4.2, so only the screens a robot
reads drift. The form posts its fields under the new names; :func:`form_fields` maps them
back to the 4.2 names the server's validation knows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.web import pages
from sandbox.web.pages import CHANGE_OPTIONS, e, layout
from sandbox.web.store import Case

PRODUCT = "Caseflow Benefits Casework 5.0.0"
#: 4.2 field name -> 5.0 field id and name
NAMES = {
    "txtClaimRef": "claimNumber",
    "txtCtAcc": "ctAccount",
    "txtSurname": "surname",
    "txtForenames": "firstNames",
    "txtNino": "niNumber",
    "ddlChangeType": "changeType",
    "txtEffDate": "effectiveDate",
    "txtWeekly": "weeklyAmount",
    "txtPostcode": "postcode",
    "txtNotes": "notes",
}


def form_fields(form: dict[str, str]) -> dict[str, str]:
    """A posted 5.0 form with its fields under their 4.2 names (others kept as they are)."""
    back = {new: old for old, new in NAMES.items()}
    return {back.get(name, name): value for name, value in form.items()}


def nav() -> str:
    body = """<div class="nav"><b>Casework</b>
<a href="#" id="navFindCase" onclick="return cwOpenSearch();">Find a case...</a>
<a href="/case/new" target="content" id="navRecordChange">Record a change</a>
<a href="/cases" target="content" id="navCaseList">All cases</a>
<a href="/reports" target="content" id="navReports">Reports and exports</a>
<a href="/home" target="content" id="navHome">Home</a></div>"""
    return layout("Menu", body, page_id="page-nav")


def search_form(query: dict[str, str]) -> str:
    statuses = "".join(
        f'<option value="{s}"{" selected" if query.get("status") == s else ""}>{s or "(any)"}'
        "</option>"
        for s in ("", "Draft", "Open", "Closed")
    )
    return f"""<h1>Find a case</h1>
<form method="get" action="/search" id="findForm">
<p><label for="findClaimNumber">Claim number</label>
<input id="findClaimNumber" name="claim" value="{e(query.get("claim"))}"></p>
<p><label for="findSurname">Surname</label>
<input id="findSurname" name="surname" value="{e(query.get("surname"))}"></p>
<p><label for="findStatus">Status</label>
<select id="findStatus" name="status">{statuses}</select></p>
<p><input type="submit" id="findCases" value="Find cases">
<input type="button" value="Close" onclick="window.close()"></p>
<input type="hidden" name="go" value="1"></form>"""


def search(query: dict[str, str], cases: Sequence[Case] | None, page: int, pages_: int) -> str:
    return pages.search(query, cases, page, pages_, form=search_form(query))


def case_form(
    *,
    action: str,
    values: dict[str, str],
    token: str,
    errors: Sequence[str] = (),
    alert: str = "",
    title: str = "Record a change of circumstances",
) -> str:
    """The 5.0 layout: a toolbar with Save on top, then the fields in three fieldsets.

    ``values`` are keyed by 4.2 names, as the server keeps them.
    """
    notes = pages.form_notes(errors, alert)
    options = "".join(
        f'<option value="{code}"{" selected" if values.get("ddlChangeType") == code else ""}>'
        f"{label}</option>"
        for code, label in (("", "-- select --"), *CHANGE_OPTIONS)
    )

    def field(old: str, label: str, size: int = 20, hint: str = "") -> str:
        new = NAMES[old]
        tip = f' <span class="hint">{e(hint)}</span>' if hint else ""
        return (
            f'<div class="row"><label for="{new}">{label}</label>'
            f'<input id="{new}" name="{new}" size="{size}" value="{e(values.get(old))}">{tip}</div>'
        )

    def fieldset(legend: str, rows: Sequence[str]) -> str:
        return f"<fieldset><legend>{legend}</legend>{''.join(rows)}</fieldset>"

    person = fieldset(
        "Person",
        [
            field("txtSurname", "Surname", 30),
            field("txtForenames", "First names", 30),
            field("txtNino", "National Insurance number", 12),
            field("txtPostcode", "Postcode", 8),
        ],
    )
    claim = fieldset(
        "Claim",
        [
            field("txtClaimRef", "Claim number", 10),
            field("txtCtAcc", "Council Tax account number", 10),
        ],
    )
    change = fieldset(
        "Change",
        [
            '<div class="row"><label for="changeType">Type of change</label>'
            f'<select id="changeType" name="changeType">{options}</select></div>',
            field("txtEffDate", "Effective from", 10, "DD/MM/YYYY"),
            field("txtWeekly", "Weekly amount (£)", 8, "e.g. 12.50"),
            '<div class="row"><label for="notes">Notes</label>'
            '<textarea id="notes" name="notes" rows="3" cols="40">'
            f"{e(values.get('txtNotes'))}\n</textarea></div>",
        ],
    )
    body = f"""<h1>{e(title)}</h1>{notes}
<form method="post" action="{e(action)}" id="caseForm">
<div class="toolbar"><input type="submit" id="saveCase" value="Save case">
<a href="/home" id="cancelCase">Cancel</a></div>
<input type="hidden" name="__RequestVerificationToken" value="{e(token)}">
{person}{claim}{change}</form>"""
    return layout(title, body, page_id="page-case-form")


def reports() -> str:
    body = """<h1>Reports and exports</h1>
<table class="grid" id="reportList"><tr><th>Report</th><th colspan="2">Download</th></tr>
<tr><td>Case report</td><td><a id="dlCasesCsv" href="/reports/cases.csv">CSV</a></td>
<td><a id="dlCasesXlsx" href="/reports/cases.xlsx">Excel</a></td></tr></table>"""
    return layout("Reports", body, page_id="page-reports")
