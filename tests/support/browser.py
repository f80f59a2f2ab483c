"""Playwright helpers for the dashboard's browser tests: contexts, sign-in, axe-core."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

from tests.support.dashboard import PASSWORD, Site

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def open_page(browser: Browser, contexts: list[BrowserContext], **options: Any) -> Page:
    """A page in a new context (closed by the ``contexts`` fixture)."""
    context = browser.new_context(**options)
    contexts.append(context)
    return context.new_page()


def sign_in(page: Page, site: Site, name: str, password: str = PASSWORD) -> None:
    page.goto(site.url + "/sign-in")
    page.get_by_label("Account name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def axe_violations(page: Page, axe: str, *, impacts: tuple[str, ...] | None = None) -> list[str]:
    """axe-core's WCAG A/AA findings on the page (only those of ``impacts`` if given)."""
    page.add_script_tag(content=axe)
    result: dict[str, Any] = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if impacts is None or v["impact"] in impacts
    ]
