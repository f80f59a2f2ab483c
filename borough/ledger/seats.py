"""Licence seats in the ledger: ``max_sessions`` slots per app, taken atomically by runs.

A run takes every seat it needs in one transaction, together with its run row (or, for a
queued run, before its process is started), or none of them: each seat is an
``INSERT ... ON CONFLICT DO NOTHING`` into ``borough_seats``, whose key ``(app, slot)``
makes two holders of one slot impossible on SQLite and PostgreSQL alike. Seats go in the
same transaction that ends the run or reaps it; seats of runs that are no longer queued or
running are dropped before anyone looks for a free one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from borough.errors import SeatUnavailableError
from borough.ledger.engine import dialect_insert
from borough.ledger.models import RunStatus
from borough.ledger.schema import runs, seats
from borough.ledger.times import utcnow

LIVE = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


@dataclass(frozen=True)
class SeatHolder:
    """A run holding one seat, with what an operator needs to know about it."""

    app: str
    slot: int
    run_id: str
    host: str
    acquired_at: datetime
    bot: str | None = None
    trigger: str | None = None
    started_by: str | None = None

    def describe(self) -> str:
        who = self.started_by or self.trigger or "unknown"
        bot = f" of {self.bot}" if self.bot else ""
        since = self.acquired_at.strftime("%H:%M:%S UTC")
        return (
            f"run {self.run_id}{bot} ({self.trigger}, started by {who} on {self.host}, "
            f"since {since})"
        )


@dataclass(frozen=True)
class SeatsBusy:
    """No free seat on ``app``: its ``limit`` seats are held by ``holders``."""

    app: str
    limit: int
    holders: tuple[SeatHolder, ...]

    def message(self) -> str:
        held = "; ".join(h.describe() for h in self.holders) or "runs being started"
        seats_word = "seat" if self.limit == 1 else "seats"
        return f"no licence seat free on {self.app} ({self.limit} {seats_word}): held by {held}"


class SeatsTaken(SeatUnavailableError):
    """Raised inside a seat-taking transaction (rolling it back) when a seat is not free."""

    def __init__(self, busy: SeatsBusy) -> None:
        self.busy = busy
        super().__init__(busy.message())


def free_stale(conn: Connection) -> None:
    """Drop seats whose run ended, was reaped or never existed."""
    live = select(runs.c.id).where(runs.c.status.in_(LIVE))
    conn.execute(delete(seats).where(seats.c.run_id.not_in(live)))


def take(conn: Connection, run_id: str, host: str, limits: Mapping[str, int]) -> None:
    """Take one seat on each app of ``limits`` for ``run_id`` (seats it holds already count).

    Raises :class:`SeatsTaken` on the first app with no free seat; the caller's
    transaction then rolls back, so a run never holds some of its seats and waits for others.
    """
    if not limits:
        return
    free_stale(conn)
    held = set(conn.execute(select(seats.c.app).where(seats.c.run_id == run_id)).scalars())
    insert = dialect_insert(conn.dialect.name)
    now = utcnow()
    for app, limit in sorted(limits.items()):
        if app in held:
            continue
        for slot in range(1, limit + 1):
            stmt = (
                insert(seats)
                .values(app=app, slot=slot, run_id=run_id, host=host, acquired_at=now)
                .on_conflict_do_nothing(index_elements=["app", "slot"])
                .returning(seats.c.slot)
            )
            if conn.execute(stmt).first() is not None:
                break
        else:
            raise SeatsTaken(SeatsBusy(app, limit, holders_of(conn, app)))


def first_busy(conn: Connection, run_id: str, limits: Mapping[str, int]) -> SeatsBusy | None:
    """Read only: the first app of ``limits`` with no seat free for ``run_id`` right now."""
    for app, limit in sorted(limits.items()):
        holders = [h for h in holders_of(conn, app, live_only=True) if h.run_id != run_id]
        if len(holders) >= limit:
            return SeatsBusy(app, limit, tuple(holders))
    return None


def release(conn: Connection, run_id: str) -> None:
    conn.execute(delete(seats).where(seats.c.run_id == run_id))


def holders_of(
    conn: Connection, app: str | None = None, *, live_only: bool = False
) -> tuple[SeatHolder, ...]:
    """Who holds seats (on ``app``, or on every app), oldest first."""
    query = (
        select(
            seats.c.app,
            seats.c.slot,
            seats.c.run_id,
            seats.c.host,
            seats.c.acquired_at,
            runs.c.bot,
            runs.c.trigger,
            runs.c.detail,
        )
        .join(runs, runs.c.id == seats.c.run_id, isouter=True)
        .order_by(seats.c.acquired_at, seats.c.app, seats.c.slot)
    )
    if app is not None:
        query = query.where(seats.c.app == app)
    if live_only:
        query = query.where(runs.c.status.in_(LIVE))
    found = []
    for row in conn.execute(query):
        detail = _detail(row.detail)
        found.append(
            SeatHolder(
                app=row.app,
                slot=row.slot,
                run_id=row.run_id,
                host=row.host,
                acquired_at=row.acquired_at,
                bot=row.bot,
                trigger=row.trigger,
                started_by=detail.get("started_by"),
            )
        )
    return tuple(found)


def _detail(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
