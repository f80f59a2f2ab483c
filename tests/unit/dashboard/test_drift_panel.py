"""The drift panel: each app's newest screen check, what broke and the proposed fix."""

from __future__ import annotations

from borough.drift.report import Candidate, DriftReport, Finding
from borough.drift.store import DriftBook
from tests.support.dashboard import Site


def test_a_drifted_app_shows_on_the_overview_and_its_panel_with_the_proposed_fix(site: Site):
    book = DriftBook(site.dash.runtime.ledger.engine)
    path = ("screens", "case form", "elements", "claim reference")
    broken = Finding(
        "case form",
        "claim reference",
        "#txtClaimRef",
        "missing",
        "matches nothing",
        (Candidate("#claimNumber", 0.81, 'textbox "Claim number"'),),
        path,
    )
    book.record(DriftReport("casework", "web", [broken]), trigger="preflight", actor="bot:coc")
    fine = Finding("change form", "window", "title:New CTR change", "ok", path=("screens",))
    book.record(DriftReport("revenues-desktop", "desktop", [fine]), trigger="check", actor="u")

    client = site.sign_in("audrey")
    overview = client.get("/").text
    card = overview.split('id="drift-card"', 1)[1].split("</li>", 1)[0]
    assert '<span class="borough-card__count">1</span> apps whose screens changed' in card
    page = client.get("/drift")
    assert page.status_code == 200
    rows = page.text.split('id="drift-apps"', 1)[1].split("</table>", 1)[0]
    assert "casework" in rows and "Drifted" in rows and "revenues-desktop" in rows
    assert "Matches" in rows and "preflight" in rows
    detail = page.text.split('id="drift-casework"', 1)[1].split("</table>", 1)[0]
    assert "<code>#txtClaimRef</code>" in detail and "<code>#claimNumber</code>" in detail
    assert "borough check app casework --accept" in page.text
