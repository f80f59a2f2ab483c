"""HTML tables (one page or many) as pandas DataFrames of strings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from borough.errors import TransientError

if TYPE_CHECKING:
    import pandas as pd
    from playwright.sync_api import Frame, Page

_ROWS = """([selector, next]) => {
  const table = document.querySelector(selector);
  const rows = table === null ? null : Array.from(table.rows).map(
    (row) => Array.from(row.cells).map((cell) => (cell.innerText || "").trim()));
  return {rows: rows, next: next ? document.querySelector(next) !== null : false};
}"""


def read_rows(
    where: Page | Frame, selector: str, next_page: str | None = None
) -> tuple[list[list[str]] | None, bool]:
    """(header row then data rows, or None without such a table; whether a next page exists).

    One round trip: the CSS ``selector`` and ``next_page`` are looked up in the page.
    """
    found: dict[str, Any] = where.evaluate(_ROWS, [selector, next_page])
    return found["rows"], bool(found["next"])


def to_frame(header: list[str], rows: list[list[str]]) -> pd.DataFrame:
    import pandas as pd

    width = len(header)
    fitted = [(row + [""] * width)[:width] for row in rows]
    return pd.DataFrame(fitted, columns=header, dtype="string")


def empty_frame(columns: list[str] | None = None) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(columns=columns or [], dtype="string")


def combine(pages: list[tuple[list[str], list[list[str]]]]) -> pd.DataFrame:
    """One frame from several pages of the same table (headers must agree)."""
    if not pages:
        return empty_frame()
    header = pages[0][0]
    rows: list[list[str]] = []
    for page_header, page_rows in pages:
        if page_header != header:
            raise TransientError(
                f"table columns changed between pages ({page_header} after {header})"
            )
        rows.extend(page_rows)
    return to_frame(header, rows)


def split(rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    return rows[0], rows[1:]


def as_records(frame: Any) -> list[dict[str, str]]:
    """Rows as dicts (handy for bots that want plain Python)."""
    return [dict(zip(frame.columns, row, strict=True)) for row in frame.itertuples(index=False)]
