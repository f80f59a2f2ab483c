"""Caseflow ``--save-later``: new cases wait in the session's unsaved work until "Save all".

As in many older case systems, a saved form is only *held*: it waits in the signed-in
session's "unsaved work" (server memory, per session) until the user presses Save all,
which writes every held case. A session that ends (signed out, timed out, its browser
killed) loses what it held. Save all lists the cases it wrote with their new references.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as e
from typing import Any

from sandbox.web import pages
from sandbox.web.store import Case


def _held_rows(held: Sequence[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{e(str(f['claim_ref']))}</td><td>{e(str(f['change_type']))}</td>"
        f"<td>{e(str(f.get('effective_text', '')))}</td></tr>"
        for f in held
    )
    head = "<tr><th>Claim Ref</th><th>Change</th><th>Effective</th></tr>"
    return f'<table class="grid" id="gvHeld">{head}{rows}</table>'


def held_page(held: Sequence[dict[str, Any]], token: str, *, added: bool) -> str:
    """The unsaved work: what is held, and the Save all button."""
    note = ""
    if added:
        note = '<div class="cw-info" id="heldMsg">The case was added to your unsaved work.</div>'
    body = (
        f"<h1>Unsaved work</h1>{note}"
        f'<p id="lblHeld">{len(held)} case(s) not yet saved.</p>{_held_rows(held)}'
        '<form method="post" action="/basket/save" id="basketForm">'
        f'<input type="hidden" name="__RequestVerificationToken" value="{e(token)}">'
        '<input type="submit" id="btnSaveAll" value="Save all"></form>'
    )
    return pages.layout("Unsaved work", body, page_id="page-unsaved")


def saved_page(saved: Sequence[Case], duplicates: Sequence[str]) -> str:
    """What Save all wrote (with the new references) and what it refused as duplicates."""
    rows = "".join(
        f"<tr><td>{e(c.case_ref)}</td><td>{e(c.claim_ref)}</td><td>{e(c.change_type)}</td>"
        f"<td>{e(c.effective_text)}</td></tr>"
        for c in saved
    )
    head = "<tr><th>Case Ref</th><th>Claim Ref</th><th>Change</th><th>Effective</th></tr>"
    refused = "".join(
        f'<div class="validation-summary">Duplicate case: {e(ref)} already records it.</div>'
        for ref in duplicates
    )
    body = (
        f'<h1>Unsaved work</h1><div class="cw-info" id="savedAllMsg">{len(saved)} case(s) '
        f'saved.</div>{refused}<table class="grid" id="gvSavedAll">{head}{rows}</table>'
    )
    return pages.layout("Saved", body, page_id="page-saved-all")
