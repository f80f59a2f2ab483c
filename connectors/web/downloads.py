"""Downloads that may not happen: the app can answer with a page (error, sign-in) instead.

A file that does arrive is read from Playwright's temporary copy, which is deleted at once,
and sealed into the run's evidence (``ctx.downloads``): it is never on disk in clear.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from borough.errors import TransientError

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Download, Frame, Page, Response

    from borough.evidence import DownloadFolder, SealedFile
    from connectors.web.session import WebSession


def wait_for_download(
    session: WebSession,
    where: Page | Frame,
    action: Callable[[], Any],
    folder: DownloadFolder,
    *,
    step: str,
) -> SealedFile:
    """Run ``action``; seal the file into ``folder``, or raise what the page shown
    instead means."""
    page = session.page
    downloads: list[Download] = []
    pages: list[Response] = []

    def on_response(response: Response) -> None:
        kind = response.headers.get("content-type", "")
        attachment = "attachment" in response.headers.get("content-disposition", "")
        if response.request.resource_type == "document" and "html" in kind and not attachment:
            pages.append(response)

    def on_download(download: Download) -> None:
        downloads.append(download)

    page.on("download", on_download)
    page.on("response", on_response)
    try:
        action()
        deadline = time.monotonic() + session.settings.timeout_seconds
        while not downloads and not pages and time.monotonic() < deadline:
            page.wait_for_timeout(50)
    finally:
        page.remove_listener("download", on_download)
        page.remove_listener("response", on_response)
    if not downloads:
        if pages:
            shown = pages[-1]
            _wait_until_shown(where, shown, session.settings.timeout_seconds, step, session.name)
            session.check(where, step=step, status=shown.status)
            raise TransientError("the app showed a page instead of a file", app=session.name,
                                 step=step)  # fmt: skip
        raise TransientError("no file arrived", app=session.name, step=step)
    download = downloads[0]
    try:
        failure = download.failure()
        if failure:
            raise TransientError(f"the download failed: {failure}", app=session.name, step=step)
        data = Path(download.path()).read_bytes()
    finally:
        _delete(download)  # Playwright's own copy, in clear in its temporary folder
    return folder.save(Path(download.suggested_filename).name, data)


def _delete(download: Download) -> None:
    from playwright.sync_api import Error as PlaywrightError

    try:
        download.delete()
    except PlaywrightError as exc:
        logger.bind(action="web.download").warning("could not delete the browser's copy: {}", exc)


def _wait_until_shown(
    where: Page | Frame, response: Response, timeout: float, step: str, app: str
) -> None:
    """Wait until ``where`` has committed and loaded the page of ``response``.

    The response can arrive before the frame switches to it, and the old page is
    already "loaded": inspecting then would read a document that is being replaced.
    """
    from playwright.sync_api import Error as PlaywrightError

    try:
        where.wait_for_url(response.url, wait_until="load", timeout=timeout * 1000)
    except PlaywrightError:
        raise TransientError(
            "the app answered with a page instead of a file, and the page did not load",
            app=app,
            step=step,
        ) from None
