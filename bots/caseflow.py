"""Screens of Caseflow, the council's casework web app, for the bots that drive it.

One place knows its selectors: the change-of-circumstances bot creates and completes cases
here, the casework-to-revenues bots download its case report.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

from borough.errors import TransientError
from bots.benefits_to_revenues import CtrChange
from connectors.web import WebSession, as_records

if TYPE_CHECKING:
    from playwright.sync_api import Frame

    from borough.evidence import DownloadFolder, SealedFile

CODES = {"NEW": "N", "CHANGE": "C", "END": "E"}
#: the saved-case page: its confirmation and the reference Caseflow gave the case
_SAVED = """() => [document.querySelector("#saveMsg") !== null,
  ((document.querySelector("#lblCaseRef") || {}).innerText || "").trim()]"""
REFERENCE = r"CW-\d{6}"


class CaseworkScreens:
    """Caseflow's screens: search window, case form, saved case page, reports."""

    def __init__(self, web: WebSession) -> None:
        self.web = web

    def search(self, claim_ref: str) -> list[dict[str, str]]:
        """Every case of one claim, from the search window (kept open; all result pages)."""
        web = self.web

        def look() -> list[dict[str, str]]:
            link = web.frame("nav").locator("#lnkSearch")
            window = web.window("search", link.click, step="search")
            window.locator("#txtSearchClaim").fill(claim_ref)
            web.navigate(window, window.locator("#btnSearch").click, step="search")
            frame = web.table(window, "#gvResults", next_page="#lnkNext", step="search")
            return as_records(frame)

        return web.run("search", look)

    def open_form(self, draft: str | None) -> Frame:
        """The content frame showing an empty new-case form, or the draft's edit form."""
        web = self.web

        def open_it() -> Frame:
            content = web.frame("content")
            if draft is None:
                link = web.frame("nav").locator("#lnkNewCase")
                web.navigate(content, link.click, step="open form")
            else:
                web.goto(f"/case/{draft}/edit", content, step="open draft")
            return content

        return web.run("open form", open_it)

    def fill(self, content: Frame, change: CtrChange, key: str) -> None:
        web, field = self.web, content.locator
        web.fill(field("#txtClaimRef"), change.claim_ref, sensitive=False)
        web.fill(field("#txtCtAcc"), change.account)
        web.fill(field("#txtSurname"), change.surname)
        web.fill(field("#txtForenames"), change.forenames)
        web.fill(field("#txtNino"), change.nino)
        field("#ddlChangeType").select_option(CODES[change.change])
        web.fill(field("#txtEffDate"), change.effective_from.strftime("%d/%m/%Y"), sensitive=False)
        web.fill(field("#txtWeekly"), f"{change.weekly_amount:.2f}", sensitive=False)
        web.fill(field("#txtPostcode"), change.postcode)
        web.fill(field("#txtNotes"), f"Notification {key} (borough)", sensitive=False)

    def save(self, content: Frame) -> str:
        """Click Save; the app's reference from the saved page (validation -> business rule)."""
        save = content.locator("#btnSave").click
        confirmed, reference = self.web.navigate(
            content, save, step="save", validation=True, read=_SAVED
        )
        if not confirmed:
            raise TransientError("the app did not confirm the save", app=self.web.name, step="save")
        if not is_reference(reference):
            raise TransientError("no case reference on the saved page", app=self.web.name)
        return str(reference)

    def download_report(self, folder: DownloadFolder, *, excel: bool = False) -> SealedFile:
        """The case report (every case, the shared report format), sealed into ``folder``."""
        web = self.web
        link = "#lnkReportXlsx" if excel else "#lnkReportCsv"

        def fetch() -> SealedFile:
            content = web.frame("content")
            web.navigate(content, web.frame("nav").locator("#lnkReports").click, step="reports")
            return web.download(content, content.locator(link).click, folder, step="report")

        return web.run("report", fetch)


def is_reference(text: object) -> bool:
    return isinstance(text, str) and re.fullmatch(REFERENCE, text) is not None


def weekly_text(amount: Decimal) -> str:
    """How Caseflow shows an amount (``£1,234.50``)."""
    return f"£{amount:,.2f}"
