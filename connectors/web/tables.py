"""HTML tables (one page or many) as pandas DataFrames of strings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from borough.errors import TransientError
from connectors.web import screens

if TYPE_CHECKING:
    import pandas as pd
    from playwright.sync_api import Frame, Page

# A navigation row is never data: the row holding the next-page link, and a pager row (a
# row with fewer cells than the header, one spanning several columns, holding links).
_ROWS = """([selector, next]) => {
  const table = document.querySelector(selector);
  if (table === null) return null;
  const all = Array.from(table.rows);
  const width = all.length ? all[0].cells.length : 0;
  const pager = (row) => row.cells.length < width
    && Array.from(row.cells).some((cell) => cell.colSpan > 1)
    && row.querySelector("a, button, input[type=submit], input[type=button]") !== null;
  return all.filter((row, i) => i === 0 || !((next && row.contains(next)) || pager(row)))
    .map((row) => Array.from(row.cells).map((cell) => (cell.innerText || "").trim()));
}"""


def read_rows(
    where: Page | Frame, selector: str, next_page: str | None = None
) -> tuple[list[list[str]] | None, bool]:
    """(header row then data rows, or None without such a table; whether a next page exists).

    ``selector`` is CSS (the table); ``next_page`` is any declared locator form (CSS,
    ``text="next >>"``, ``role=link[name="next >>"]``, ``label=...``). The row holding the
    next-page link, and a pager row inside the table, are left out of the data rows.
    """
    link = None
    if next_page is not None:
        found = screens.find(where, next_page)
        link = found.first.element_handle() if found.count() else None
    rows: list[list[str]] | None = where.evaluate(_ROWS, [selector, link])
    return rows, link is not None


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
