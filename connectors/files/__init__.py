"""Files: read council exports (CSV/Excel) row by row with validation, within limits, and
append to an Excel import workbook exactly once per key.

``tables`` (rows against a model), ``sources`` (CSV/Excel as text rows, encodings),
``xlsx_guard`` (zip bombs and oversized XML refused unread), ``workbook`` (the
``files`` connector), ``tempfiles`` (private temporary files, stale ones removed).
"""

from __future__ import annotations

from connectors.files.sources import EXCEL_SUFFIXES
from connectors.files.tables import TableRow, expected_columns, read_frame, read_table
from connectors.files.workbook import FilesConnector, WorkbookSettings

__all__ = [
    "EXCEL_SUFFIXES",
    "FilesConnector",
    "TableRow",
    "WorkbookSettings",
    "expected_columns",
    "read_frame",
    "read_table",
]
