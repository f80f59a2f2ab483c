"""A grid (list view) read off the screen by OCR, as the app would copy it: a header line,
then one tab-separated line per row.

Columns are found by their header text; each column's left edge is the header separator
before its title (titles are centred, cells start at the edge), so a cell is read between
two edges and never joined to its neighbour. Each row band is read cell by cell, a
selected (inverted) row as well as the others. A cell read with low confidence makes the
whole grid unreadable (None): "cannot tell" is never turned into "not there".

A grid that declares its key column (``key:``) holds its key cells to more: each must be
read with the key's confidence and match one of its patterns, else NeedsReviewError. A
confident misread of a key ("CW-2026-0000l3") would otherwise match nothing, and a lookup
would conclude the record is absent and enter it twice.
"""

from __future__ import annotations

from typing import Any

from borough.errors import NeedsReviewError
from connectors.desktop.ocr import Ocr
from connectors.desktop.ocr_image import erase_lines, ink
from connectors.desktop.pixel_settings import Table
from connectors.desktop.screentext import find_phrase

#: a header column this dark (share of its rows, borders left out) is a separator line:
#: more than any glyph, whose height is well under the header's
SEPARATOR_SHARE = 0.9
#: pixels of ink below which a cell or a row band is empty
EMPTY_INK = 6


def read_grid(
    ocr: Ocr, image: Any, table: Table, min_confidence: float, similarity: float
) -> str | None:
    """``image`` is the grid (header first) as declared by ``table``; its text, or None if
    the header is not found or any cell is unsure. NeedsReviewError if a key cell is."""
    height = table.row_height
    header = image.crop((0, 0, image.width, height))
    words = ocr.words(header, model="Latin")
    titles = [find_phrase(words, name, similarity) for name in table.columns]
    if any(title is None for title in titles):
        return None
    edges = separators(header)
    lefts = [max([0, *(x for x in edges if x <= t.left)]) for t in titles if t is not None]
    rights = [*lefts[1:], image.width]
    out = ["\t".join(table.columns)]
    key = table.columns.index(table.key.column) if table.key else None
    for top in range(height, image.height - height // 2, height):
        band = image.crop((0, top, image.width, min(top + height, image.height)))
        if _ink(_clean(band)) < EMPTY_INK:
            continue
        cells: list[str] = []
        sure: list[float | None] = []  # None: an empty cell, nothing to be unsure of
        for left, right in zip(lefts, rights, strict=True):
            cell = _clean(band.crop((left + 2, 0, max(right - 2, left + 3), band.height)))
            if _ink(cell) < EMPTY_INK:
                cells.append("")
                sure.append(None)
                continue
            reading = ocr.read_line(cell, "text")
            cells.append(reading.text)
            sure.append(reading.confidence)
        if key is not None:
            _check_key(table, cells[key], sure[key] or 0.0, min_confidence, len(out))
        if any(c is not None and c < min_confidence for c in sure):
            return None
        out.append("\t".join(cells))
    return "\n".join(out)


def _check_key(table: Table, text: str, confidence: float, least: float, row: int) -> None:
    """NeedsReviewError unless ``text`` (row ``row``'s key cell) is a key read for sure."""
    assert table.key is not None
    least = table.key.min_confidence if table.key.min_confidence is not None else least
    if confidence >= least and table.key.matches(text):
        return
    why = (
        f"read with confidence {confidence:.0f} < {least:.0f}"
        if confidence < least
        else "matching none of its patterns"
    )
    # the reading itself stays out of the message: it is an identifier
    raise NeedsReviewError(
        f"the grid's {table.key.column!r} cell in row {row} could not be read for sure "
        f"({why}): cannot tell whether the record is there",
        step="find",
    )


def separators(header: Any) -> list[int]:
    """x of each vertical line across the header (one per run of adjacent columns)."""
    import numpy as np

    gray = ink(header).astype(int)
    rows = gray[2:-2]  # the header's own top and bottom borders left out
    background = int(np.median(gray))
    dark = (rows < background - 24).mean(axis=0) >= SEPARATOR_SHARE
    found: list[int] = []
    for x in np.flatnonzero(dark):
        if not found or x > found[-1] + 1:
            found.append(int(x))
    return found


def _clean(image: Any) -> Any:
    """``image`` as dark text on white with the lines of the grid (a row's edge, a column
    separator, the next row's colour) taken out."""
    import numpy as np
    from PIL import Image

    gray = ink(image).astype(int)
    background = int(np.bincount(gray.ravel(), minlength=256).argmax())
    white = np.clip(gray + (255 - background), 0, 255).astype(np.uint8)  # a selected row's too
    return Image.fromarray(erase_lines(white)).convert("RGB")


def _ink(image: Any) -> int:
    """How many pixels of ``image`` are text (dark on its own background, once inverted)."""
    gray = ink(image).astype(int)
    background = int(gray.max(initial=255))
    return int((gray < background - 80).sum())
