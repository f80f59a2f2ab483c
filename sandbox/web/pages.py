"""HTML of the casework app: frameset, login, search window, case form, lists, reports.

Every complete page ends with ``<div id="cw-footer">``; a half-rendered page lacks it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from sandbox.web.store import Case

PRODUCT = "Caseflow Benefits Casework 4.2.1"
CHANGE_OPTIONS = (
    ("N", "NEW - new award"),
    ("C", "CHANGE - change of circumstances"),
    ("E", "END - award ends"),
)


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def layout(title: str, body: str, *, page_id: str) -> str:
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n'
        f'<html lang="en-GB"><head><meta charset="utf-8"><title>{e(title)} - Caseflow</title>'
        '<link rel="stylesheet" href="/static/cw.css"><script src="/static/cw.js"></script>'
        f'</head><body id="{page_id}">\n{body}\n'
        f'<div id="cw-footer">{PRODUCT} &middot; generated {stamp}</div></body></html>'
    )


def login(token: str, *, message: str = "", error: str = "") -> str:
    notes = ""
    if message:
        notes += f'<div class="cw-alert" id="loginMsg">{e(message)}</div>'
    if error:
        notes += f'<div class="validation-summary" id="loginError">{e(error)}</div>'
    body = f"""<h1>Caseflow - sign in</h1>{notes}
<form method="post" action="/login" target="_top" id="loginForm" name="loginForm">
<input type="hidden" name="__RequestVerificationToken" value="{e(token)}">
<table class="form">
<tr><td class="lbl"><label for="txtUser">User ID</label></td>
<td><input id="txtUser" name="txtUser" autocomplete="off"></td></tr>
<tr><td class="lbl"><label for="txtPwd">Password</label></td>
<td><input id="txtPwd" name="txtPwd" type="password"></td></tr>
<tr><td></td><td><input type="submit" id="btnLogin" value="Sign in"></td></tr>
</table></form>
<p>Unauthorised access to this system is an offence under the Computer Misuse Act 1990.</p>"""
    return layout("Sign in", body, page_id="page-login")


def frameset() -> str:
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Frameset//EN">\n'
        '<html><head><meta charset="utf-8"><title>Caseflow</title></head>'
        '<frameset rows="44,*,22" border="1">'
        '<frame name="banner" src="/banner" scrolling="no">'
        '<frameset cols="190,*"><frame name="nav" src="/nav"><frame name="content" src="/home">'
        '</frameset><frame name="status" src="/status" scrolling="no">'
        "<noframes>Caseflow needs a browser that supports frames.</noframes></frameset></html>"
    )


def banner(user: str, council: str) -> str:
    body = (
        f'<div class="banner">Caseflow &middot; {e(council)} &middot; signed in as '
        f'<span id="lblUser">{e(user)}</span> &middot; '
        '<a href="/logout" target="_top" style="color:#fff" id="lnkLogout">Sign out</a></div>'
    )
    return layout("Banner", body, page_id="page-banner")


def nav() -> str:
    body = """<div class="nav"><b>Casework</b>
<a href="#" id="lnkSearch" onclick="return cwOpenSearch();">Case search...</a>
<a href="/case/new" target="content" id="lnkNewCase">New change of circumstances</a>
<a href="/cases" target="content" id="lnkCaseList">Case list</a>
<a href="/reports" target="content" id="lnkReports">Reports</a>
<a href="/home" target="content" id="lnkHome">Home</a></div>"""
    return layout("Menu", body, page_id="page-nav")


def status_bar(idle_timeout: float) -> str:
    minutes = max(int(idle_timeout // 60), 0)
    body = f'<span id="lblStatus">Connected. Sessions end after {minutes} min idle.</span>'
    return layout("Status", body, page_id="page-status")


def home(user: str, counts: dict[str, int]) -> str:
    rows = "".join(f"<tr><td>{e(k)}</td><td>{v}</td></tr>" for k, v in sorted(counts.items()))
    body = (
        f"<h1>Welcome, {e(user)}</h1><p>Cases by status:</p>"
        f'<table class="grid" id="gvSummary"><tr><th>Status</th><th>Cases</th></tr>{rows}</table>'
    )
    return layout("Home", body, page_id="page-home")


def _grid(table_id: str, cases: Sequence[Case], *, select: bool) -> str:
    head = (
        "<tr><th>Case Ref</th><th>Claim Ref</th><th>Name</th><th>Change</th>"
        "<th>Effective</th><th>Weekly</th><th>Status</th></tr>"
    )
    rows = []
    for case in cases:
        ref = e(case.case_ref)
        link = (
            f'<a href="#" onclick="return cwSelect(\'{ref}\');">{ref}</a>'
            if select
            else f'<a href="/case/{ref}">{ref}</a>'
        )
        rows.append(
            f"<tr><td>{link}</td><td>{e(case.claim_ref)}</td>"
            f"<td>{e(case.surname.upper())}, {e(case.forenames)}</td><td>{e(case.change_type)}</td>"
            f"<td>{e(case.effective_text)}</td><td>{e(case.weekly_text)}</td>"
            f"<td>{e(case.status)}</td></tr>"
        )
    return f'<table class="grid" id="{table_id}">{head}{"".join(rows)}</table>'


def _page_links(base: str, page: int, pages: int, *, old: bool) -> list[str]:
    """Prev, "Page N of M", next: with ids (the search's pager), or, in an old GridView's
    pager row, links known only by their text."""
    prev, next_ = ("&lt;&lt; prev", "next &gt;&gt;") if old else ("&lt; Prev", "Next &gt;")
    ids = ("", "") if old else (' id="lnkPrev"', ' id="lnkNext"')
    parts = [
        f"Page {page} of {pages}" if old else f'<span id="lblPage">Page {page} of {pages}</span>'
    ]
    if page > 1:
        parts.insert(0, f'<a{ids[0]} href="{e(base)}&amp;page={page - 1}">{prev}</a>')
    if page < pages:
        parts.append(f'<a{ids[1]} href="{e(base)}&amp;page={page + 1}">{next_}</a>')
    return parts


def _pager(base: str, page: int, pages: int) -> str:
    return f'<div class="pager">{" ".join(_page_links(base, page, pages, old=False))}</div>'


def search_form(query: dict[str, str]) -> str:
    statuses = "".join(
        f'<option value="{s}"{" selected" if query.get("status") == s else ""}>{s or "(any)"}'
        "</option>"
        for s in ("", "Draft", "Open", "Closed")
    )
    return f"""<h1>Case search</h1>
<form method="get" action="/search" id="searchForm"><table class="form">
<tr><td class="lbl"><label for="txtSearchClaim">Claim ref</label></td>
<td><input id="txtSearchClaim" name="claim" value="{e(query.get("claim"))}"></td></tr>
<tr><td class="lbl"><label for="txtSearchSurname">Surname</label></td>
<td><input id="txtSearchSurname" name="surname" value="{e(query.get("surname"))}"></td></tr>
<tr><td class="lbl"><label for="ddlStatus">Status</label></td>
<td><select id="ddlStatus" name="status">{statuses}</select></td></tr>
<tr><td></td><td><input type="submit" id="btnSearch" value="Search">
<input type="button" value="Close" onclick="window.close()"></td></tr></table>
<input type="hidden" name="go" value="1"></form>"""


def search(
    query: dict[str, str],
    cases: Sequence[Case] | None,
    page: int,
    pages: int,
    *,
    form: str | None = None,
) -> str:
    """The search window: ``form`` (default: this version's search form), then results."""
    form = search_form(query) if form is None else form
    if cases is None:
        results = '<p id="searchHint">Enter a claim reference or surname.</p>'
    elif not cases:
        results = '<p id="noResults">No cases found.</p>'
    else:
        base = (
            "/search?"
            + "&".join(f"{k}={e(query.get(k, ''))}" for k in ("claim", "surname", "status"))
            + "&go=1"
        )
        results = _grid("gvResults", cases, select=True) + _pager(base, page, pages)
    return layout("Case search", form + results, page_id="page-search")


def case_form(
    *,
    action: str,
    values: dict[str, str],
    token: str,
    errors: Sequence[str] = (),
    alert: str = "",
    title: str = "New change of circumstances",
) -> str:
    notes = form_notes(errors, alert)
    options = "".join(
        f'<option value="{code}"{" selected" if values.get("ddlChangeType") == code else ""}>'
        f"{label}</option>"
        for code, label in (("", "-- select --"), *CHANGE_OPTIONS)
    )

    def field(name: str, label: str, size: int = 20, hint: str = "") -> str:
        tip = f' <span class="hint">{e(hint)}</span>' if hint else ""
        return (
            f'<tr><td class="lbl"><label for="{name}">{label}</label></td><td>'
            f'<input id="{name}" name="{name}" size="{size}" value="{e(values.get(name))}">'
            f"{tip}</td></tr>"
        )

    body = f"""<h1>{e(title)}</h1>{notes}
<form method="post" action="{e(action)}" id="caseForm">
<input type="hidden" name="__RequestVerificationToken" value="{e(token)}">
<table class="form">
{field("txtClaimRef", "Claim reference", 10)}
{field("txtCtAcc", "Council Tax account", 10)}
{field("txtSurname", "Surname", 30)}
{field("txtForenames", "Forenames", 30)}
{field("txtNino", "NI number", 12)}
<tr><td class="lbl"><label for="ddlChangeType">Change type</label></td>
<td><select id="ddlChangeType" name="ddlChangeType">{options}</select></td></tr>
{field("txtEffDate", "Effective date", 10, "DD/MM/YYYY")}
{field("txtWeekly", "Weekly amount", 8, "pounds, e.g. 12.50")}
{field("txtPostcode", "Postcode", 8)}
<tr><td class="lbl"><label for="txtNotes">Notes</label></td>
<td><textarea id="txtNotes" name="txtNotes" rows="3" cols="40">{e(values.get("txtNotes"))}
</textarea></td></tr>
<tr><td></td><td><input type="submit" id="btnSave" value="Save">
<a href="/home" id="lnkCancel">Cancel</a></td></tr>
</table></form>"""
    return layout(title, body, page_id="page-case-form")


def form_notes(errors: Sequence[str], alert: str) -> str:
    """The lock alert and validation summary shown above a case form."""
    notes = ""
    if alert:
        notes += f'<div class="cw-alert" id="lockMsg">{e(alert)}</div>'
    if errors:
        items = "".join(f"<li>{e(m)}</li>" for m in errors)
        notes += (
            '<div class="validation-summary" id="valSummary"><p>Please correct the following:</p>'
            f"<ul>{items}</ul></div>"
        )
    return notes


def form_values(case: Case) -> dict[str, str]:
    """A stored case as the edit form's field values."""
    code = {"NEW": "N", "CHANGE": "C", "END": "E"}.get(case.change_type, "")
    return {
        "txtClaimRef": case.claim_ref,
        "txtCtAcc": case.account,
        "txtSurname": case.surname,
        "txtForenames": case.forenames,
        "txtNino": case.nino,
        "ddlChangeType": code,
        "txtEffDate": case.effective_text,
        "txtWeekly": case.weekly_text.replace("£", "").replace(",", ""),
        "txtPostcode": case.postcode,
        "txtNotes": case.notes,
    }


def case_view(case: Case, *, saved: bool = False, alert: str = "") -> str:
    notes = ""
    if saved:
        notes += f'<div class="cw-info" id="saveMsg">Case {e(case.case_ref)} has been saved.</div>'
    if alert:
        notes += f'<div class="cw-alert" id="lockMsg">{e(alert)}</div>'
    rows = (
        ("Case reference", f'<span id="lblCaseRef">{e(case.case_ref)}</span>'),
        ("Status", f'<span id="lblStatus">{e(case.status)}</span>'),
        ("Claim reference", e(case.claim_ref)),
        ("Council Tax account", e(case.account)),
        ("Name", f"{e(case.surname.upper())}, {e(case.forenames)}"),
        ("NI number", e(case.nino)),
        ("Change type", e(case.change_type)),
        ("Effective date", e(case.effective_text)),
        ("Weekly amount", e(case.weekly_text)),
        ("Postcode", e(case.postcode)),
        ("Created", e(case.created_at)),
    )
    table = "".join(f'<tr><td class="lbl">{k}</td><td>{v}</td></tr>' for k, v in rows)
    body = (
        f"<h1>Case {e(case.case_ref)}</h1>{notes}"
        f'<table class="form" id="tblCase">{table}</table>'
        f'<p><a id="lnkEdit" href="/case/{e(case.case_ref)}/edit">Edit case</a></p>'
    )
    return layout(f"Case {case.case_ref}", body, page_id="page-case")


def _pager_row(base: str, page: int, pages: int) -> str:
    """An old GridView's pager: a row of the table itself, links known only by their text."""
    links = " | ".join(_page_links(base, page, pages, old=True))
    return f'<tr class="pgr"><td colspan="7">{links}</td></tr>'


def case_list(cases: Sequence[Case], page: int, pages: int) -> str:
    grid = _grid("gvCases", cases, select=False)
    if pages > 1:
        grid = grid.removesuffix("</table>") + _pager_row("/cases?go=1", page, pages) + "</table>"
    body = "<h1>Case list</h1>" + grid
    return layout("Case list", body, page_id="page-case-list")


def reports() -> str:
    body = """<h1>Reports</h1><ul>
<li><a id="lnkReportCsv" href="/reports/cases.csv">Case report (CSV)</a></li>
<li><a id="lnkReportXlsx" href="/reports/cases.xlsx">Case report (Excel)</a></li></ul>"""
    return layout("Reports", body, page_id="page-reports")


def server_error() -> str:
    """No footer: the real app's error page is not one of its own pages."""
    return (
        '<html><head><title>Runtime Error</title></head><body style="background:#ffffcc">'
        "<h2><i>Server Error in '/Caseflow' Application.</i></h2>"
        "<p><b>Internal Server Error</b></p><pre>ORA-00060: deadlock detected while waiting for "
        "resource\n   at Caseflow.Data.CaseRepository.Save()</pre></body></html>"
    )


def forbidden(message: str) -> str:
    return layout(
        "Request refused",
        f'<h1>Request refused</h1><p id="refused">{e(message)}</p>',
        page_id="page-refused",
    )


def _wrapped(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) if width > 0 else text


def callers_panel(callers: Sequence[Mapping[str, str]], wrap: int) -> str:
    """Other residents who rang recently, as the real app lists them beside every form."""
    entries = []
    for caller in callers:
        text = (
            f"{caller.get('name', '').upper()} {caller.get('address', '')} "
            f"NI {caller.get('nino', '')} {caller.get('email', '')} "
            f"tel {caller.get('phone', '')} bank {caller.get('bank', '')}"
        )
        entries.append(f"<li><pre>{e(_wrapped(text, wrap))}</pre></li>")
    return f'<div id="recentCallers"><h2>Recent callers</h2><ul>{"".join(entries)}</ul></div>'


def addressee(case: Case, wrap: int) -> str:
    """The case's correspondence label, upper case, wrapped as the app prints it."""
    text = f"{case.forenames} {case.surname}, NI {case.nino}, {case.postcode}".upper()
    return f'<pre id="lblAddressee">{e(_wrapped(text, wrap))}</pre>'
