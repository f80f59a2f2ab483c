"""The dashboard in real Chromium: what each role sees and does, accessibility (axe-core),
CSRF, session expiry, sign-in throttling, and the operator's actions reaching the ledger
and the audit trail."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from borough.ledger import ItemState
from tests.support.browser import axe_violations, open_page, sign_in
from tests.support.dashboard import PASSWORD, Site

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]  # up to 23 s loaded


def serious_violations(page: Page, axe: str) -> list[str]:
    return axe_violations(page, axe, impacts=("serious", "critical"))


MAIN_PAGES = {
    "olivia": [
        "/",
        "/runs",
        "/runs/{run}",
        "/items",
        "/items/{review}",
        "/items/{failed}",
        "/approvals",
        "/queue",
        "/schedules",
        "/drift",
        "/evidence/view/{png}",
        "/account/password",
    ],
    "audrey": ["/", "/audit", "/audit/verify", "/audit/export", "/audit/sar"],
    "adam": ["/admin/users"],
}


@pytest.mark.parametrize("name", list(MAIN_PAGES))
def test_main_pages_have_no_serious_accessibility_violations(
    browser: Browser, contexts, site: Site, axe_script: str, name: str
):
    page = open_page(browser, contexts, bypass_csp=True)  # axe is injected as a script
    page.goto(site.url + "/sign-in")
    assert serious_violations(page, axe_script) == [], "/sign-in"
    sign_in(page, site, name)
    s = site.seeded
    for template in MAIN_PAGES[name]:
        path = (
            template.replace("{run}", s.run_id)
            .replace("{review}", str(s.review_id))
            .replace("{failed}", str(s.failed_id))
            .replace("{png}", s.evidence_png)
        )
        response = page.goto(site.url + path)
        assert response is not None and response.status == 200, path
        assert serious_violations(page, axe_script) == [], path
    if name == "audrey":  # a page with results and one with errors
        page.goto(site.url + "/audit/sar")
        page.get_by_label("The person's identifier, or their token").fill("Zoë Example")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#sar-summary")).to_contain_text("2 work items")
        assert serious_violations(page, axe_script) == [], "SAR result"
        page.goto(site.url + "/audit/export")
        page.locator("#from-day").fill("31")
        page.locator("#from-month").fill("2")
        page.locator("#from-year").fill("2026")
        page.get_by_role("button", name="Download export").click()
        expect(page.locator(".govuk-error-summary")).to_contain_text("must be a real date")
        assert serious_violations(page, axe_script) == [], "export errors"


def test_each_role_sees_its_own_navigation(browser: Browser, contexts, site: Site):
    expected = {
        "olivia": ["Overview", "Runs", "Schedules", "Seat queue", "Approvals", "Apps", "Benefits"],
        "audrey": [
            "Overview",
            "Runs",
            "Schedules",
            "Seat queue",
            "Approvals",
            "Apps",
            "Benefits",
            "Audit trail",
        ],
        "adam": ["Users"],
    }
    for name, links in expected.items():
        page = open_page(browser, contexts)
        sign_in(page, site, name)
        nav = page.get_by_role("navigation", name="Menu")
        expect(nav.get_by_role("link")).to_have_text(links)
        expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()


def test_operator_retries_without_javascript_and_the_trail_names_them(
    browser: Browser, contexts, site: Site
):
    page = open_page(browser, contexts, java_script_enabled=False)
    sign_in(page, site, "olivia")
    item = site.seeded.failed_id
    page.goto(f"{site.url}/items/{item}")
    page.get_by_label("Why it can be tried again (optional)").fill("limit raised by finance")
    page.get_by_role("button", name=f"Retry item {item}").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Item {item} is now PENDING")
    assert site.dash.runtime.ledger.items.get(item).state is ItemState.PENDING
    record = [r for r in site.audit() if r["action"] == "item.retry_requested"][-1]
    assert record["actor"] == "user:olivia"
    assert record["detail"]["reason"] == "limit raised by finance"


def test_operator_resolves_a_review_item(browser: Browser, contexts, site: Site):
    page = open_page(browser, contexts)
    sign_in(page, site, "olivia")
    item = site.seeded.review_id
    page.goto(f"{site.url}/items/{item}")
    expect(page.locator("body")).to_have_class(
        "govuk-template__body js-enabled govuk-frontend-supported"
    )
    page.get_by_label("Done: the target system holds it").check()
    page.get_by_label("The target's reference (when done)").fill("CW-2041")
    page.get_by_label("What you checked").fill("found it in casework by reference")
    page.get_by_role("button", name="Save decision").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Item {item} is now DONE")
    moved = site.dash.runtime.ledger.items.get(item)
    assert (moved.state, moved.reference) == (ItemState.DONE, "CW-2041")
    record = [r for r in site.audit() if r["action"] == "item.resolved"][-1]
    assert (record["actor"], record["item"], record["outcome"]) == (
        "user:olivia",
        moved.key_token,
        "done",
    )


def test_auditor_has_no_buttons_and_a_forged_retry_is_refused(
    browser: Browser, contexts, site: Site
):
    page = open_page(browser, contexts)
    sign_in(page, site, "audrey")
    item = site.seeded.review2_id
    page.goto(f"{site.url}/items/{item}")
    expect(page.get_by_role("heading", name=f"Item {item}")).to_be_visible()
    expect(page.get_by_role("button", name="Save decision")).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.input_value()
    response = page.request.post(
        f"{site.url}/items/{item}/retry", form={"csrf_token": token, "reason": "x"}
    )
    assert response.status == 403
    assert site.dash.runtime.ledger.items.get(item).state is ItemState.NEEDS_REVIEW


def test_a_form_without_its_csrf_token_is_refused(browser: Browser, contexts, site: Site):
    page = open_page(browser, contexts)
    sign_in(page, site, "olivia")
    item = site.seeded.review2_id
    page.goto(f"{site.url}/items/{item}")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    page.get_by_label("Skipped: there is nothing to do").check()
    page.get_by_label("What you checked").fill("duplicate")
    with page.expect_response(f"{site.url}/items/{item}/resolve") as answer:
        page.get_by_role("button", name="Save decision").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("The form could not be accepted")
    assert site.dash.runtime.ledger.items.get(item).state is ItemState.NEEDS_REVIEW


def test_an_idle_session_expires_and_sign_in_returns_to_the_page(
    browser: Browser, contexts, site: Site, clock
):
    page = open_page(browser, contexts)
    sign_in(page, site, "audrey")
    page.goto(f"{site.url}/runs/{site.seeded.run_id}")
    clock.advance(minutes=31)
    page.reload()
    expect(page).to_have_url(f"{site.url}/sign-in?next=/runs/{site.seeded.run_id}")
    sign_in_here(page, "audrey")
    expect(page).to_have_url(f"{site.url}/runs/{site.seeded.run_id}")


def sign_in_here(page: Page, name: str, password: str = PASSWORD) -> None:
    page.get_by_label("Account name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_repeated_wrong_passwords_slow_the_account_briefly(
    browser: Browser, contexts, site: Site, clock
):
    page = open_page(browser, contexts)
    page.goto(site.url + "/sign-in")
    for _ in range(5):
        sign_in_here(page, "oscar", "not the password")
        expect(page.get_by_role("alert")).to_contain_text("Enter a correct account name")
    sign_in_here(page, "oscar")
    expect(page.get_by_role("alert")).to_contain_text("Wait 1 second, then sign in again")
    expect(page).to_have_title("Error: Sign in – borough – Example Borough Council")
    expect(page.get_by_label("Account name")).to_have_value("oscar")  # kept
    clock.advance(seconds=1)
    sign_in_here(page, "oscar")
    expect(page.get_by_role("heading", level=1)).to_have_text("What needs attention")


def test_evidence_screenshot_shows_inline_and_trace_downloads(
    browser: Browser, contexts, site: Site, tmp_path
):
    page = open_page(browser, contexts, accept_downloads=True)
    sign_in(page, site, "olivia")
    page.goto(f"{site.url}/runs/{site.seeded.run_id}")
    page.get_by_role("link", name="after-submit.png (evidence)").click()
    expect(page.get_by_text("MATCHES THE TRAIL")).to_be_visible()
    page.get_by_role("button", name="Show after-submit.png").click()
    expect(page.get_by_role("link", name="say why")).to_be_visible()  # the error summary
    page.get_by_label("Why do you need to see it?").fill("what did the app show at submit?")
    page.get_by_role("button", name="Show after-submit.png").click()
    image = page.get_by_role("img", name="Screenshot after-submit.png")
    expect(image).to_be_visible()
    page.wait_for_function("document.querySelector('img.borough-evidence-image').complete")
    assert page.evaluate("document.querySelector('img.borough-evidence-image').naturalWidth") == 1
    page.goto(f"{site.url}/runs/{site.seeded.run_id}")
    page.get_by_role("link", name="trace.zip (evidence)").click()
    page.get_by_label("Why do you need to see it?").fill("the steps before the failure")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download trace.zip").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "trace.zip" and saved.read_bytes().startswith(b"PK")
