"""Evidence of a failed item: masked screenshots, page HTML and the item's trace.

They are handed to the run's evidence store as captured, which redacts the text (HTML,
a trace's text members; a trace's images are left out) and seals every file at rest.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

EvidenceFile = tuple[str, bytes | str, str]
MASK_COLOUR = "#000000"


def page_html(page: Page) -> str:
    """The HTML of every frame of ``page``, each headed by its frame name and URL."""
    parts = []
    for frame in page.frames:
        try:
            content = frame.content()
        except Exception as exc:
            content = f"<!-- could not read this frame: {type(exc).__name__} -->"
        parts.append(f"<!-- frame {frame.name or '(top)'}: {frame.url} -->\n{content}")
    return "\n".join(parts)


def masks(page: Page, selectors: list[str]) -> list[Locator]:
    return [frame.locator(selector) for frame in page.frames for selector in selectors]


def capture_pages(
    context: BrowserContext, selectors: list[str], timeout_ms: float
) -> list[EvidenceFile]:
    """A masked screenshot and the HTML of every open window."""
    files: list[EvidenceFile] = []
    for index, page in enumerate(p for p in context.pages if not p.is_closed()):
        label = "window" if index == 0 else f"popup{index}"
        try:
            shot = page.screenshot(
                mask=masks(page, selectors),
                mask_color=MASK_COLOUR,
                animations="disabled",
                timeout=timeout_ms,
            )
            files.append((f"{label}.png", shot, "screenshot"))
        except Exception as exc:
            logger.bind(action="evidence.screenshot").warning("no screenshot of {}: {}", label, exc)
        try:
            files.append((f"{label}.html", page_html(page), "page-html"))
        except Exception as exc:
            logger.bind(action="evidence.html").warning("no HTML of {}: {}", label, exc)
    return files


def capture_trace(context: BrowserContext) -> EvidenceFile | None:
    """The current trace chunk; a new chunk is started for what follows."""
    with tempfile.TemporaryDirectory(prefix="borough-trace-") as folder:
        path = Path(folder) / "trace.zip"
        try:
            context.tracing.stop_chunk(path=path)
        except Exception as exc:
            logger.bind(action="evidence.trace").warning("no trace: {}", exc)
        try:
            context.tracing.start_chunk()
        except Exception as exc:
            logger.bind(action="evidence.trace").warning("tracing could not restart: {}", exc)
        if not path.exists():
            return None
        return ("trace.zip", path.read_bytes(), "trace")


def start_tracing(context: BrowserContext, mode: str) -> None:
    """Record actions (``actions``), or also DOM snapshots and the network (``full``)."""
    context.tracing.start(snapshots=mode == "full", screenshots=False, sources=False)


def new_item_trace(context: BrowserContext, mode: str, *, restart: bool = False) -> None:
    """Start the trace of a new item, holding nothing of the items before it.

    Starting a chunk while one records drops the old one, but with snapshots on the
    network log runs on across chunks, so ``full`` tracing is restarted instead
    (tests/integration/test_web_bot.py checks a failed item's trace holds only that item).
    """
    if restart or mode == "full":
        context.tracing.stop()
        start_tracing(context, mode)
    else:
        context.tracing.start_chunk()
