"""Text that a spreadsheet would run as a formula, made inert (CSV/Excel injection).

A surname such as ``=HYPERLINK("http://…")`` or ``=SUM(1`` typed by a resident must reach a
workbook or CSV file as text. Excel cells are written as typed strings by the connector;
for CSV, where there are no types, a leading apostrophe is added (OWASP's advice), except
to plain numbers such as ``-12.50`` which no spreadsheet reads as a formula.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(text)


def csv_safe(value: object) -> object:
    """``value`` for a CSV cell: text that would be a formula gets a leading apostrophe."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value
