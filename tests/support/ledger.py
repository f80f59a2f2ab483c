"""Ledger helpers for tests: work items as ingest would record them."""

from __future__ import annotations

from borough.ledger import NewItem


def new(key: str, invalid: str | None = None) -> NewItem:
    """A work item as ingest would record it."""
    return NewItem(
        key_token=f"tok-{key}",
        key=key,
        data={"key": key, "name": "Zoë"},
        source=f"in.csv row {key}",
        subjects=["p_x"],
        invalid_reason=invalid,
        digest=f"d-{key}-{invalid}",
    )
