"""Start and stop Playwright on the system Chromium (Debian ``chromium``), never a download."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from borough.errors import ConnectorError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Playwright

INSTALL_HINT = "install it with: apt-get install chromium (Debian/Ubuntu)"
CANDIDATES = ("chromium", "chromium-browser", "chromium-headless-shell")


def find_chromium(executable: str | None = None) -> str:
    """Path of the browser binary; a clear error with the install hint when there is none."""
    if executable:
        found = shutil.which(executable)
        if found is None:
            raise ConnectorError(f"browser {executable!r} (apps.yaml 'executable') not found")
        return found
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise ConnectorError(
        f"no Chromium browser on PATH (looked for {', '.join(CANDIDATES)}); {INSTALL_HINT}"
    )


@dataclass
class BrowserHandle:
    """Playwright, one browser and one context: opened together, closed together."""

    playwright: Playwright
    browser: Browser
    context: BrowserContext

    @classmethod
    def launch(
        cls, *, executable: str | None, headless: bool, viewport: tuple[int, int]
    ) -> BrowserHandle:
        try:
            from playwright.sync_api import Error, sync_playwright
        except ImportError:
            raise ConnectorError(
                "the web connector needs Playwright: pip install 'borough[web]'"
            ) from None
        path = find_chromium(executable)
        playwright = sync_playwright().start()
        try:
            browser = playwright.chromium.launch(executable_path=path, headless=headless)
            context = browser.new_context(
                accept_downloads=True,
                viewport={"width": viewport[0], "height": viewport[1]},
                locale="en-GB",
                timezone_id="Europe/London",
            )
        except Error as exc:
            playwright.stop()
            raise ConnectorError(f"cannot start Chromium at {path}: {exc.message}") from None
        except BaseException:
            playwright.stop()
            raise
        return cls(playwright, browser, context)

    def close(self) -> None:
        """Close everything, even if the browser already died."""
        from playwright.sync_api import Error

        with contextlib.suppress(Error):
            self.context.close()
        with contextlib.suppress(Error):
            self.browser.close()
        self.playwright.stop()
