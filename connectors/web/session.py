"""``kind: web``: one signed-in Chromium session with a legacy web app, reused across items.

A bot runs each part of its work as a *step* (:meth:`WebSession.run`). Steps that only
look (search, open a form) are repeatable: they are retried with backoff and the session
signs in again when the app has logged it out. A step that saves is not repeatable: any
doubt is raised as :class:`~borough.errors.TransientError` so that borough asks the app
(``find_existing``) before anything is done again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from loguru import logger
from pydantic import BaseModel

from borough.connect import AppServices, Connector
from borough.drift.screens import locator_of
from borough.errors import BusinessRuleError, ConnectorError, TransientError
from connectors.web import checks, evidence, screens, signin, tables
from connectors.web.browser import BrowserHandle
from connectors.web.checks import SessionExpired
from connectors.web.settings import WebSettings

if TYPE_CHECKING:
    import pandas as pd
    from playwright.sync_api import Frame, Locator, Page

    from borough.drift.report import Finding
    from borough.evidence import DownloadFolder, SealedFile

R = TypeVar("R")
TRACE_RESTART_ITEMS = 500  # start a new trace now and then so its temporary files stay small


class WebSession(Connector):
    """A signed-in browser session with one app of ``config/apps.yaml`` (``kind: web``)."""

    kind: ClassVar[str] = "web"
    Settings: ClassVar[type[BaseModel]] = WebSettings
    settings: WebSettings

    def __init__(self, name: str, settings: WebSettings, services: AppServices) -> None:
        super().__init__(name, settings, services)
        self.sign_ins = 0
        self._handle: BrowserHandle | None = None
        self._page: Page | None = None
        self._needs_login = True
        self._windows: dict[str, Page] = {}
        self._items = 0
        self._refused: str | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def open(self) -> Page:
        """The main window, signed in (starts the browser on first use)."""
        if self._refused is not None:
            raise signin.SignInRefused(self._refused)
        if self._handle is not None and not self._handle.browser.is_connected():
            self._drop_browser("the browser went away")
        if self._handle is None:
            self._start()
        assert self._page is not None
        if self._needs_login:
            from playwright.sync_api import Error as PlaywrightError

            try:
                self._login()
            except PlaywrightError as exc:
                where = self.settings.url(self.settings.login.path)
                raise TransientError(
                    f"cannot sign in at {where}: {_first_line(exc)}", app=self.name, step="sign-in"
                ) from None
        return self._page

    @property
    def page(self) -> Page:
        return self.open()

    def close(self) -> None:
        """Close the browser; the app's session simply times out (no sign-out page to fail)."""
        self._drop_browser(None)

    def _start(self) -> None:
        settings = self.settings
        handle = BrowserHandle.launch(
            executable=settings.executable,
            headless=settings.headless,
            viewport=(settings.viewport_width, settings.viewport_height),
        )
        try:
            context = handle.context
            context.set_default_timeout(settings.timeout_seconds * 1000)
            context.set_default_navigation_timeout(settings.navigation_timeout_seconds * 1000)
            if settings.trace != "off":
                evidence.start_tracing(context, settings.trace)
            self._page = context.new_page()
        except BaseException:
            handle.close()
            raise
        self._handle = handle
        self._needs_login = True

    def _drop_browser(self, reason: str | None) -> None:
        handle, self._handle, self._page = self._handle, None, None
        self._windows.clear()
        self._needs_login = True
        if handle is None:
            return
        if reason:
            logger.bind(action="web.browser_lost").warning("app {}: {}", self.name, reason)
        try:
            handle.close()
        except Exception as exc:
            logger.bind(action="web.close").warning("closing the browser failed: {}", exc)

    # -- signing in ---------------------------------------------------------------------
    def _login(self) -> None:
        assert self._page is not None
        user, password = signin.credential(
            self.name, self.settings, self.services.secret, self.services.keep_out
        )
        try:
            signin.sign_in(self._page, self.name, self.settings, user, password)
        except signin.SignInRefused as refused:
            self._refused = refused.message
            raise
        self._needs_login = False
        self.sign_ins += 1
        self.services.step("web.sign-in", target=self.name, sign_ins=self.sign_ins)

    # -- steps --------------------------------------------------------------------------
    def run(self, step: str, operation: Callable[[], R], *, repeatable: bool = True) -> R:
        """Run one step; sign in again / retry / convert errors as described above."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        attempt, relogins = 0, 0
        while True:
            attempt += 1
            try:
                self.open()
                if not repeatable:
                    self.services.check_lease()  # a run that lost its lease saves nothing
                return operation()
            except SessionExpired as exc:
                self._needs_login = True
                self._close_popups()
                if not repeatable:
                    raise TransientError(str(exc.message), app=self.name, step=step) from None
                if relogins >= self.settings.max_relogins:
                    raise TransientError(
                        f"signed in {relogins} times but the session kept ending",
                        app=self.name,
                        step=step,
                    ) from None
                relogins += 1
                attempt -= 1
                continue
            except (BusinessRuleError, ConnectorError):
                raise
            except TransientError as exc:
                error = exc
            except PlaywrightTimeout as exc:
                error = TransientError(f"timed out: {_first_line(exc)}", app=self.name, step=step)
                error.__cause__ = exc
            except PlaywrightError as exc:
                error = TransientError(
                    f"browser error: {_first_line(exc)}", app=self.name, step=step
                )
                error.__cause__ = exc
                if self._handle is not None and not self._handle.browser.is_connected():
                    self._drop_browser("the browser disconnected")
            self._close_popups()
            if not repeatable or attempt >= self.settings.attempts:
                raise error
            delay = self.settings.backoff_seconds * 2 ** (attempt - 1)
            logger.bind(action="web.retry").info(
                "app {} step {!r} failed ({}); retry in {:.1f}s", self.name, step, error, delay
            )
            time.sleep(delay)

    def check(
        self,
        where: Page | Frame,
        *,
        step: str,
        status: int | None = None,
        validation: bool = False,
        read: str | None = None,
    ) -> Any:
        """Raise what the page means (HTTP 5xx, sign-in page, locked, half-rendered...).

        A good page returns what ``read`` (a JS function) found on it, in the same trip.
        """
        state = checks.inspect(where, self.settings, read)
        if status is None:
            status = state.status
        checks.raise_for_page(
            state, self.settings, app=self.name, step=step, status=status, validation=validation
        )
        return state.value

    def navigate(
        self,
        where: Page | Frame,
        action: Callable[[], Any],
        *,
        step: str,
        validation: bool = False,
        read: str | None = None,
    ) -> Any:
        """Do ``action`` (a click), wait until ``where`` has loaded its new page, check it;
        return what ``read`` (a JS function of no arguments) found there."""
        with where.expect_navigation(wait_until="load") as navigation:
            action()
        response = navigation.value
        return self.check(
            where,
            step=step,
            status=response.status if response is not None else None,
            validation=validation,
            read=read,
        )

    def home(self, *, step: str = "home") -> Page:
        """The main window at ``start_path``, signed in and checked: the main page of an
        app without frames (``web.page`` is the main window wherever sign-in left it)."""
        self.goto(self.settings.start_path, step=step)
        return self.page

    def goto(self, path: str, where: Page | Frame | None = None, *, step: str = "open") -> None:
        target = where if where is not None else self.page
        response = target.goto(self.settings.url(path), wait_until="load")
        self.check(target, step=step, status=response.status if response else None)

    def frame(self, name: str) -> Frame:
        """The frame called ``name`` in the main window (re-opening the start page if gone)."""
        page = self.page
        found = page.frame(name=name)
        if found is None:
            self.check(page, step=f"frame {name}")
            self.goto(self.settings.start_path, step=f"frame {name}")
            found = page.frame(name=name)
        if found is None:
            raise TransientError(f"the app shows no frame named {name!r}", app=self.name)
        return found

    @contextmanager
    def popup(self, action: Callable[[], Any], *, step: str) -> Iterator[Page]:
        """A window the app opens (``window.open``), checked, closed when the block ends."""
        window = self._open_window(action, step=step)
        try:
            yield window
        finally:
            if not window.is_closed():
                window.close()

    def window(self, key: str, action: Callable[[], Any], *, step: str) -> Page:
        """A window the app opens (``window.open``) and the bot keeps open between steps,
        as a person keeps a search window open; reopened after any failure."""
        found = self._windows.get(key)
        if found is not None and not found.is_closed():
            return found
        window = self._open_window(action, step=step)
        self._windows[key] = window
        return window

    def _open_window(self, action: Callable[[], Any], *, step: str) -> Page:
        """The window ``action`` opens, loaded and checked (closed again if the check fails)."""
        with self.page.expect_popup() as info:
            action()
        window = info.value
        try:
            window.wait_for_load_state("load")
            self.check(window, step=step)
        except BaseException:
            window.close()
            raise
        return window

    def fill(self, field: Locator, value: str, *, sensitive: bool = True) -> None:
        """Type ``value``; a sensitive value is redacted from then on from every log,
        reason and piece of evidence of the run, in whatever form the app shows it."""
        if sensitive:
            self.services.keep_out(value)
        field.fill(value)

    def table(
        self,
        where: Page | Frame,
        selector: str,
        *,
        next_page: str | None = None,
        max_pages: int = 50,
        step: str = "read table",
    ) -> pd.DataFrame:
        """The table ``selector`` (CSS) as a DataFrame, following ``next_page`` if given.

        ``next_page`` is a locator of any declared form: CSS (``#lnkNext``), text
        (``text="next >>"``), role (``role=link[name="next >>"]``) or ``label=...``. The
        row that holds it, and a pager row inside the table (fewer cells than the header,
        one spanning columns, with links), are never returned as data. No table at all
        gives an empty DataFrame.
        """
        pages: list[tuple[list[str], list[list[str]]]] = []
        for _ in range(max_pages):
            rows, more = tables.read_rows(where, selector, next_page)
            if not rows:
                break
            pages.append(tables.split(rows))
            if next_page is None or not more:
                break
            self.navigate(where, screens.find(where, next_page).first.click, step=step)
        else:
            raise TransientError(f"table has more than {max_pages} pages", app=self.name, step=step)
        return tables.combine(pages)

    def download(
        self, where: Page | Frame, action: Callable[[], Any], folder: DownloadFolder, *, step: str
    ) -> SealedFile:
        """Seal the file that ``action`` makes the app send into ``folder`` (``ctx.downloads``),
        under its own file name; read it with ``read_table(file, Row)`` or ``file.read_bytes()``."""
        from connectors.web.downloads import wait_for_download

        return wait_for_download(self, where, action, folder, step=step)

    # -- declared screens (screens: of the app in config/apps.yaml) ---------------------
    def locator(self, where: Page | Frame, screen: str, element: str) -> Locator:
        """The element as declared for ``screen`` in apps.yaml, found in ``where``."""
        return screens.find(where, self.selector(screen, element))

    def selector(self, screen: str, element: str) -> str:
        """The declared locator of an element, as text (CSS where a script reads it)."""
        return locator_of(self.settings.screens, self.name, screen, element)

    def check_screens(self, baseline: Mapping[tuple[str, str], dict[str, Any]]) -> list[Finding]:
        """The drift check: visit every declared screen signed in, touching no item."""
        from connectors.web import drift

        return drift.check(self, baseline)

    # -- per item and evidence ----------------------------------------------------------
    def begin_item(self) -> None:
        self._items += 1
        if self._handle is None or self.settings.trace == "off":
            return
        try:
            evidence.new_item_trace(
                self._handle.context,
                self.settings.trace,
                restart=self._items % TRACE_RESTART_ITEMS == 0,
            )
        except Exception as exc:
            logger.bind(action="web.trace").warning("could not restart the trace: {}", exc)

    def failure_evidence(self) -> list[tuple[str, bytes | str, str]]:
        if self._handle is None or not self._handle.browser.is_connected():
            return []
        context = self._handle.context
        for cookie in context.cookies():  # a session cookie in evidence is a live login
            value = cookie.get("value", "")
            if len(value) >= 8:  # a session id; not "en-GB" or "yes", redacted everywhere
                self.services.keep_out(value, secret=True)
        files = evidence.capture_pages(
            context, self.settings.mask, self.settings.timeout_seconds * 1000
        )
        if self.settings.trace != "off":
            trace = evidence.capture_trace(context)
            if trace is not None:
                files.append(trace)
        return files

    def _close_popups(self) -> None:
        if self._handle is None:
            return
        for window in self._handle.context.pages:
            if window is not self._page and not window.is_closed():
                try:
                    window.close()
                except Exception as exc:
                    logger.bind(action="web.popup").debug("closing a popup failed: {}", exc)


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
