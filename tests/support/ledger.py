"""Ledger helpers for tests: work items as ingest would record them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from borough.ledger import Ledger, NewItem
from borough.ledger.schema import runners
from borough.ledger.times import utcnow


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


def age_heartbeat(ledger: Ledger, host: str, seconds: float) -> None:
    """Make ``host``'s runner row look silent for ``seconds`` (its last beat that long ago)."""
    with ledger.engine.begin() as conn:
        conn.execute(
            update(runners)
            .where(runners.c.host == host)
            .values(heartbeat_at=utcnow() - timedelta(seconds=seconds))
        )
