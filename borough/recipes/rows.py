"""``find_row``: the one row of a table (web grid, copied desktop grid) that is this item."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from borough.errors import NeedsReviewError
from borough.recipes import templates


def grid_rows(text: str) -> list[dict[str, str]]:
    """A copied grid (a header line, then tab-separated rows) as dicts."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines:
        return []
    header = [cell.strip() for cell in lines[0].split("\t")]
    return [
        dict(zip(header, (cell.strip() for cell in line.split("\t")), strict=False))
        for line in lines[1:]
    ]


def _rendered(spec: Mapping[str, Any] | None, values: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): templates.render(str(v), values) for k, v in (spec or {}).items()}


def pick(
    rows: Sequence[Mapping[str, Any]],
    options: Mapping[str, Any],
    values: Mapping[str, Any],
    app: str,
) -> dict[str, str] | None:
    """The row matching ``where`` (less those matching ``skip``), None if there is none.

    Several matches, or one whose ``expect`` columns differ, need a person: the target
    holds something the recipe cannot account for. Messages name columns, never values.
    """
    where = _rendered(options.get("where"), values)
    skip = _rendered(options.get("skip"), values)
    expect = _rendered(options.get("expect"), values)
    texts = [{str(k): "" if v is None else str(v).strip() for k, v in row.items()} for row in rows]
    matches = [
        row
        for row in texts
        if all(row.get(c) == v for c, v in where.items())
        and not (skip and all(row.get(c) == v for c, v in skip.items()))
    ]
    if not matches:
        return None
    if len(matches) > 1:
        raise NeedsReviewError(
            f"the app holds {len(matches)} rows matching this item "
            f"({', '.join(where) or 'any row'}); check them in the app",
            app=app,
        )
    found = matches[0]
    differs = [c for c, v in expect.items() if found.get(c) != v]
    if differs:
        raise NeedsReviewError(
            f"the app already holds this item with a different {', '.join(differs)}; "
            "check it in the app",
            app=app,
        )
    return found
