"""Operator requests to a running scheduler (pause, resume, sync), kept in the store.

The running scheduler is the only writer of its job store, so operator commands from
another process post a request here and wait for the scheduler to apply it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, Row, String, Table, Text, select, update

from borough.ledger import migrate
from borough.ledger.schema import UTCDateTime

metadata = MetaData()
requests = Table(
    "borough_scheduler_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("verb", String(20), nullable=False),
    Column("schedule", String(191)),
    Column("actor", String(200), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("handled_at", UTCDateTime),
    Column("ok", Integer),
    Column("outcome", Text),
)

VERBS = ("pause", "resume", "sync")


@dataclass
class Request:
    id: int
    verb: str
    schedule: str | None
    actor: str
    requested_at: datetime
    handled_at: datetime | None = None
    ok: bool | None = None
    outcome: str | None = None


class RequestBox:
    """Post requests (CLI side) and take them in order (scheduler side)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate.create_missing(engine, metadata)

    def post(self, verb: str, schedule: str | None, actor: str) -> int:
        if verb not in VERBS:
            raise ValueError(f"unknown request {verb!r}")
        with self.engine.begin() as conn:
            result = conn.execute(
                requests.insert().values(
                    verb=verb, schedule=schedule, actor=actor, requested_at=datetime.now(UTC)
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def pending(self) -> list[Request]:
        query = select(requests).where(requests.c.handled_at.is_(None)).order_by(requests.c.id)
        with self.engine.connect() as conn:
            return [_to_request(row) for row in conn.execute(query)]

    def done(self, request_id: int, *, ok: bool, outcome: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(requests)
                .where(requests.c.id == request_id)
                .values(handled_at=datetime.now(UTC), ok=int(ok), outcome=outcome)
            )

    def get(self, request_id: int) -> Request:
        with self.engine.connect() as conn:
            row = conn.execute(select(requests).where(requests.c.id == request_id)).one()
        return _to_request(row)

    def wait(self, request_id: int, timeout: float) -> Request | None:
        """The handled request, or ``None`` if the scheduler did not answer in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            request = self.get(request_id)
            if request.handled_at is not None:
                return request
            time.sleep(0.2)
        return None


def _to_request(row: Row[Any]) -> Request:
    return Request(
        id=row.id,
        verb=row.verb,
        schedule=row.schedule,
        actor=row.actor,
        requested_at=row.requested_at,
        handled_at=row.handled_at,
        ok=None if row.ok is None else bool(row.ok),
        outcome=row.outcome,
    )
