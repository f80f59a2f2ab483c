"""Screens of Caseflow, the council's casework web app, for the bots that drive it.

The change-of-circumstances bot creates and completes cases here, the casework-to-revenues
bots download its case report. The selectors themselves are declared once, in the app's
``screens:`` in config/apps.yaml (what the drift check visits and an accepted fix changes);
this module names the screens and elements it uses and knows what to do with them.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING

from borough.errors import TransientError
from borough_examples.records import CtrChange
from connectors.web import WebSession, as_records

if TYPE_CHECKING:
    from playwright.sync_api import Frame

    from borough.evidence import DownloadFolder, SealedFile

CODES = {"NEW": "N", "CHANGE": "C", "END": "E"}
#: the saved-case page: its confirmation and the reference Caseflow gave the case (CSS), and
#: whether the case was only held in the unsaved work instead (Caseflow --save-later)
_SAVED = """() => [document.querySelector(%s) !== null,
  ((document.querySelector(%s) || {}).innerText || "").trim(),
  document.querySelector(%s) !== null]"""
REFERENCE = r"CW-\d{6}"


class CaseworkScreens:
    """Caseflow's screens: search window, case form, saved case page, reports."""

    def __init__(self, web: WebSession) -> None:
        self.web = web

    def search(self, claim_ref: str) -> list[dict[str, str]]:
        """Every case of one claim, from the search window (kept open; all result pages)."""
        web = self.web

        def look() -> list[dict[str, str]]:
            link = web.locator(web.frame("nav"), "menu", "case search")
            window = web.window("search", link.click, step="search")
            web.locator(window, "search window", "claim reference").fill(claim_ref)
            search = web.locator(window, "search window", "search")
            web.navigate(window, search.click, step="search")
            frame = web.table(
                window,
                web.selector("search results", "results"),
                next_page=web.selector("search results", "next page"),
                step="search",
            )
            return as_records(frame)

        return web.run("search", look)

    def open_form(self, draft: str | None) -> Frame:
        """The content frame showing an empty new-case form, or the draft's edit form."""
        web = self.web

        def open_it() -> Frame:
            content = web.frame("content")
            if draft is None:
                link = web.locator(web.frame("nav"), "menu", "new case")
                web.navigate(content, link.click, step="open form")
            else:
                web.goto(f"/case/{draft}/edit", content, step="open draft")
            return content

        return web.run("open form", open_it)

    def fill(self, content: Frame, change: CtrChange, key: str) -> None:
        """Type every field; the personal ones are kept out of evidence."""
        web = self.web
        typed = {  # element -> (value, personal)
            "claim reference": (change.claim_ref, False),
            "council tax account": (change.account, True),
            "surname": (change.surname, True),
            "forenames": (change.forenames, True),
            "ni number": (change.nino, True),
            "effective date": (change.effective_from.strftime("%d/%m/%Y"), False),
            "weekly amount": (f"{change.weekly_amount:.2f}", False),
            "postcode": (change.postcode, True),
            "notes": (f"Notification {key} (borough)", False),
        }
        for element, (value, personal) in typed.items():
            web.fill(web.locator(content, "case form", element), value, sensitive=personal)
        web.locator(content, "case form", "change type").select_option(CODES[change.change])

    def save(self, content: Frame) -> str | None:
        """Click Save; the app's reference from the saved page (validation -> business rule),
        or None if the app only held the case in its unsaved work (``--save-later``)."""
        web = self.web
        save = web.locator(content, "case form", "save").click
        read = _SAVED % (
            json.dumps(web.selector("saved case", "confirmation")),
            json.dumps(web.selector("saved case", "case reference")),
            json.dumps(web.selector("held case", "confirmation")),
        )
        page = web.navigate(content, save, step="save", validation=True, read=read)
        confirmed, reference, held = page
        if held:
            return None
        if not confirmed:
            raise TransientError("the app did not confirm the save", app=self.web.name, step="save")
        if not is_reference(reference):
            raise TransientError("no case reference on the saved page", app=self.web.name)
        return str(reference)

    def save_all(self) -> dict[str, str]:
        """Press Save all in the unsaved work; ``{item key: case reference}`` of what it
        wrote (Caseflow ``--save-later``). Not repeatable: a lost answer raises."""
        web = self.web

        def press() -> dict[str, str]:
            content = web.frame("content")
            web.goto("/basket", content, step="unsaved work")
            button = web.locator(content, "unsaved work", "save all")
            web.navigate(content, button.click, step="save all")
            if not content.locator(web.selector("saved all", "confirmation")).count():
                raise TransientError("the app did not confirm Save all", app=web.name)
            rows = as_records(web.table(content, web.selector("saved all", "cases")))
            return {_key(row): row["Case Ref"] for row in rows}

        return web.run("save all", press, repeatable=False)

    def download_report(self, folder: DownloadFolder, *, excel: bool = False) -> SealedFile:
        """The case report (every case, the shared report format), sealed into ``folder``."""
        web = self.web
        link = "case report excel" if excel else "case report csv"

        def fetch() -> SealedFile:
            content = web.frame("content")
            reports = web.locator(web.frame("nav"), "menu", "reports")
            web.navigate(content, reports.click, step="reports")
            report = web.locator(content, "reports", link)
            return web.download(content, report.click, folder, step="report")

        return web.run("report", fetch)


def _key(row: dict[str, str]) -> str:
    """An item's key (``CtrChange.key``) from a row of Caseflow's saved-cases table."""
    day, month, year = row["Effective"].split("/")
    return f"{row['Claim Ref']}:{row['Change']}:{year}-{month}-{day}"


def is_reference(text: object) -> bool:
    return isinstance(text, str) and re.fullmatch(REFERENCE, text) is not None


def weekly_text(amount: Decimal) -> str:
    """How Caseflow shows an amount (``£1,234.50``)."""
    return f"£{amount:,.2f}"
