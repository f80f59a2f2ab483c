"""The operator's morning in real Chromium, four-eyes on: find the overnight failures, filter,
retry them in bulk with one reason, a second operator approves. Every page of the journey
has zero axe-core violations at 1280 px and at 320 px, and nothing scrolls sideways at
320 px. One browser and one seeded site for the module.

Set ``BOROUGH_SCREENSHOTS=<folder>`` to keep a screenshot of each step (for review).
Contexts bypass the CSP only so that axe-core can be injected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from borough.config.models import DashboardSettings
from borough.ledger import ItemState
from tests.support.browser import axe_violations, open_page, sign_in
from tests.support.dashboard import Site, overnight_failures, seeded_site

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]  # up to 23 s loaded

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 320, "height": 640}
RATES_ERRORS = [
    "rates portal refused the account number format",
    "rates portal refused the account number format",
    "rates portal refused the account number format",
    "session expired while saving",
]
SHOTS = os.environ.get("BOROUGH_SCREENSHOTS")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with seeded_site(
        tmp_path_factory.mktemp("triage"), settings=DashboardSettings(four_eyes=True)
    ) as site:
        site.rates = overnight_failures(site.dash.runtime, "rates-bot", RATES_ERRORS)  # type: ignore[attr-defined]
        yield site


def violations(page: Page, axe: str) -> list[str]:
    return axe_violations(page, axe)  # every finding, whatever its impact


def sideways_scroll(page: Page) -> int:
    """How far the page scrolls sideways (0: it reflows)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(-5).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))"""


def check(page: Page, axe: str, step: str) -> None:
    """Zero axe violations; at 320 px, no sideways scroll; a screenshot if asked for."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{width}-{step}.png", full_page=True)
    assert violations(page, axe) == [], f"{step} at {width}px"
    if width <= 320:
        assert sideways_scroll(page) <= 0, (step, page.evaluate(WIDE))


def test_overnight_failures_filter_bulk_retry_and_a_second_operator_approves(
    browser: Browser, contexts, site: Site, axe_script: str
):
    ledger = site.dash.runtime.ledger
    rates: list[int] = site.rates  # type: ignore[attr-defined]
    page = open_page(browser, contexts, viewport=DESKTOP, bypass_csp=True)
    sign_in(page, site, "olivia")

    # 1. the first screen shows what failed overnight, the first failed item without scrolling
    expect(page.get_by_role("heading", level=1)).to_have_text("What needs attention")
    first = page.locator("#newest tbody tr").first.get_by_role("link")
    expect(first).to_be_visible()
    box = first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= DESKTOP["height"], box
    expect(page.locator("#groups")).to_contain_text("rates portal refused the account number")
    check(page, axe_script, "1-overview")

    # 2. from the group to its items, then narrowed with the filters
    page.locator("#groups").get_by_role("link", name=re.compile("rates portal refused")).click()
    expect(page.locator("#items-summary")).to_contain_text("3 items match")
    page.get_by_text("Filter items").click()
    expect(page.get_by_label("Bot")).to_have_value("rates-bot")
    page.get_by_label("Reason contains").fill("")  # every reason, this bot
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#items-summary")).to_contain_text("4 items match")
    expect(page.locator("#items tbody tr")).to_have_count(4)
    check(page, axe_script, "2-items-filtered")

    # 3. select them all, retry with one reason (a missing reason is a GOV.UK error)
    page.get_by_label("Select every item on this page").check()
    page.get_by_role("button", name="Retry selected").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Retry 4 items?")
    check(page, axe_script, "3-confirm")
    page.get_by_role("button", name="Ask for approval").click()
    expect(page).to_have_title(re.compile("^Error: Retry 4 items"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    summary.get_by_role("link", name=re.compile("Enter the reason")).click()
    expect(page.get_by_label("Why")).to_be_focused()
    check(page, axe_script, "4-confirm-error")
    page.get_by_label("Why").fill("portal fixed the account format at 07:40")
    page.get_by_role("button", name="Ask for approval").click()
    expect(page.locator(".govuk-panel")).to_contain_text("Request sent for approval")
    check(page, axe_script, "5-requested")
    assert {ledger.items.get(i).state for i in rates} == {ItemState.FAILED}  # nothing yet

    # 4. a second operator approves the request, with a note
    other = open_page(browser, contexts, viewport=DESKTOP, bypass_csp=True)
    sign_in(other, site, "oscar")
    other.get_by_role("link", name="Approvals").click()
    row = other.locator("tr", has_text="portal fixed the account format")
    expect(row).to_contain_text("asked by olivia")
    expect(row).to_contain_text("(4 items)")
    check(other, axe_script, "6-approvals")
    row.get_by_label("Your note (optional)").fill("checked the portal release note")
    row.get_by_role("button", name=re.compile("^Approve")).click()
    expect(other.get_by_role("alert")).to_contain_text("Approved: 4 item(s) changed (now PENDING)")
    expect(other.locator("tr", has_text="checked the portal release note")).to_contain_text(
        "by oscar"
    )
    check(other, axe_script, "7-approved")

    assert {ledger.items.get(i).state for i in rates} == {ItemState.PENDING}
    records = [
        r
        for r in site.audit()
        if r["action"] == "item.retry_requested" and r["actor"] == "user:oscar"
    ]
    assert len(records) == 4
    assert {r["detail"]["requested_by"] for r in records} == {"user:olivia"}
    page.goto(f"{site.url}/items/{rates[0]}")
    expect(page.locator(".govuk-summary-list")).to_contain_text("olivia, approved by oscar")
    expect(page.locator("body")).to_contain_text("checked the portal release note")
    check(page, axe_script, "8-item")


def test_at_320px_the_journey_reflows_with_no_axe_violations(
    browser: Browser, contexts, site: Site, axe_script: str
):
    page = open_page(browser, contexts, viewport=PHONE, bypass_csp=True)
    sign_in(page, site, "olivia")
    check(page, axe_script, "1-overview")
    page.goto(f"{site.url}/items?state=needs_review")
    expect(page.locator("#items tbody tr")).to_have_count(2)
    check(page, axe_script, "2-items")
    for box in page.locator("#items tbody input[name=item]").all():
        box.check()
    page.get_by_role("button", name="Resolve selected").click()
    page.get_by_role("button", name="Ask for approval").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose what the items")
    check(page, axe_script, "3-confirm-error")
    page.get_by_label("Skipped: there is nothing to do").check()
    page.get_by_label("Why").fill("duplicates of cases already in casework")
    page.get_by_role("button", name="Ask for approval").click()
    check(page, axe_script, "4-requested")
    for path in ("/approvals", f"/items/{site.seeded.review_id}", "/runs", "/schedules", "/queue"):
        page.goto(site.url + path)
        check(page, axe_script, path.strip("/").replace("/", "-") or "home")


def test_the_first_row_is_a_few_tabs_away(browser: Browser, contexts, site: Site):
    page = open_page(browser, contexts, viewport=DESKTOP, bypass_csp=True)
    sign_in(page, site, "olivia")
    page.goto(f"{site.url}/items?state=failed")
    first_box = page.locator("#items tbody input[name=item]").first
    page.keyboard.press("Tab")  # the skip link
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    for presses in range(1, 10):  # noqa: B007 - counted
        page.keyboard.press("Tab")
        if first_box.evaluate("el => el === document.activeElement"):
            break
    assert presses <= 4, presses


def test_the_audit_trail_is_readable_at_desktop_width_and_reflows(
    browser: Browser, contexts, site: Site, axe_script: str
):
    for viewport in (DESKTOP, PHONE):
        page = open_page(browser, contexts, viewport=viewport, bypass_csp=True)
        sign_in(page, site, "audrey")
        page.goto(f"{site.url}/audit")
        check(page, axe_script, "audit")
        if viewport is DESKTOP:
            fits = page.evaluate(
                "document.querySelector('.borough-audit-table').getBoundingClientRect().right"
                " <= document.querySelector('main').getBoundingClientRect().right + 1"
            )
            assert fits, "the audit table is wider than the page"
            run_link = page.locator(".borough-audit-table a[href^='/audit?run=']").first
            box = run_link.bounding_box()
            assert box is not None and box["height"] < 70, box  # a run id wraps to 2 lines at most
