"""The events a trigger has taken, in the ledger database (own tables and version key).

One row per event, unique per trigger and key (a file's SHA-256, an upstream run's id), so
an event is taken once however often it is seen, across restarts. The row is written in
the transaction that records the run it started (see :mod:`scheduler.events.book`), so
there is never a run without its event or an event without its run.

States: ``taken`` (its run is queued or running), then ``processed`` or ``rejected`` (a
file's run ended; a rejected file may be dropped again and is then taken again), or
``done`` (events with nothing to tidy up afterwards).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from borough.ledger import migrate, txn
from borough.ledger.schema import UTCDateTime
from borough.ledger.schema import runs as runs_table
from borough.ledger.times import utcnow

SCHEMA_VERSION = 1
VERSION_KEY = "events_schema_version"
TAKEN, PROCESSED, REJECTED, DONE = "taken", "processed", "rejected", "done"
ARMED_KEY = "armed:"  #: the row that records when a trigger began counting events
PAUSED_KEY = "paused:"  #: present while an operator has paused the trigger
PAUSED = "paused"

metadata = MetaData()

events = Table(
    "borough_trigger_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trigger", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("key", String(200), nullable=False),
    Column("state", String(20), nullable=False),
    Column("run_id", String(40)),
    Column("name", String(500)),  # a file's name in processing/ (how recovery finds it)
    Column("detail", Text, nullable=False, default="{}"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("trigger", "key", name="uq_trigger_events_key"),
    Index("ix_trigger_events_state", "trigger", "state"),
    Index("ix_trigger_events_name", "trigger", "name"),
)


@dataclass(frozen=True)
class Event:
    """An event to record with the run it starts."""

    key: str
    state: str = TAKEN
    name: str | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class EventRow:
    id: int
    trigger: str
    kind: str
    key: str
    state: str
    run_id: str | None
    name: str | None
    detail: dict[str, Any]
    created_at: datetime


def _row(row: Any) -> EventRow:
    return EventRow(
        id=row.id,
        trigger=row.trigger,
        kind=row.kind,
        key=row.key,
        state=row.state,
        run_id=row.run_id,
        name=row.name,
        detail=json.loads(row.detail or "{}"),
        created_at=row.created_at,
    )


class EventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate.prepare_tables(
            engine, metadata, key=VERSION_KEY, version=SCHEMA_VERSION, what="trigger events store"
        )

    @staticmethod
    def take(conn: Connection, trigger: str, kind: str, run_id: str, event: Event) -> None:
        """Record ``event`` for ``run_id`` in ``conn``'s transaction.

        A rejected event is taken again; any other existing row raises the database's
        integrity error, which rolls the whole transaction (the run included) back.
        """
        now = utcnow()
        values = {
            "state": event.state,
            "run_id": run_id,
            "name": event.name,
            "detail": json.dumps(event.detail or {}, sort_keys=True, default=str),
            "updated_at": now,
        }
        retaken = conn.execute(
            update(events)
            .where(events.c.trigger == trigger, events.c.key == event.key)
            .where(events.c.state == REJECTED)
            .values(**values)
        )
        if retaken.rowcount == 0:
            conn.execute(
                events.insert().values(
                    trigger=trigger, kind=kind, key=event.key, created_at=now, **values
                )
            )

    def arm(self, trigger: str, kind: str, now: datetime) -> datetime:
        """When ``trigger`` was first armed (recorded now if never): it counts events from
        then, across restarts."""
        key = f"{ARMED_KEY}{kind}"
        found = self.get(trigger, key)
        if found is None:
            self._mark(trigger, kind, key, state=DONE, detail={}, now=now)
            found = self.get(trigger, key)
        assert found is not None
        return found.created_at

    def get(self, trigger: str, key: str) -> EventRow | None:
        return self._first(events.c.trigger == trigger, events.c.key == key)

    def by_name(self, trigger: str, name: str) -> EventRow | None:
        return self._first(events.c.trigger == trigger, events.c.name == name)

    def _first(self, *where: Any) -> EventRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(events).where(*where)).first()
        return None if row is None else _row(row)

    def keys(self, trigger: str, since: datetime) -> set[str]:
        """Keys of the events taken since ``since``."""
        query = select(events.c.key).where(
            events.c.trigger == trigger, events.c.created_at >= since
        )
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def ended(self, trigger: str, finished: list[str]) -> list[tuple[EventRow, str, str | None]]:
        """Taken events whose run has ended: (row, run status, run error)."""
        query = (
            select(events, runs_table.c.status.label("run_status"), runs_table.c.error)
            .join(runs_table, runs_table.c.id == events.c.run_id)
            .where(events.c.trigger == trigger, events.c.state == TAKEN)
            .where(runs_table.c.status.in_(finished))
            .order_by(events.c.id)
        )
        with self.engine.connect() as conn:
            return [(_row(r), r.run_status, r.error) for r in conn.execute(query)]

    def pause(self, trigger: str, kind: str, actor: str, *, audit: Any) -> bool:
        """Mark ``trigger`` paused (False if it already was), ``audit`` in the transaction."""
        detail = {"by": actor}
        return self._mark(
            trigger, kind, PAUSED_KEY, state=PAUSED, detail=detail, now=utcnow(), audit=audit
        )

    def _mark(
        self,
        trigger: str,
        kind: str,
        key: str,
        *,
        state: str,
        detail: dict[str, Any],
        now: datetime,
        audit: Any = None,
    ) -> bool:
        """Insert the marker row ``key`` of ``trigger`` (``audit`` in the transaction);
        False if it was already there."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    events.insert().values(
                        trigger=trigger,
                        kind=kind,
                        key=key,
                        state=state,
                        detail=json.dumps(detail),
                        created_at=now,
                        updated_at=now,
                    )
                )
                if audit is not None:
                    txn.record_in(conn, audit)
        except IntegrityError:
            return False
        return True

    def resume(self, trigger: str, *, audit: Any) -> bool:
        """Clear the pause of ``trigger`` (False if it was not paused)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                events.delete().where(events.c.trigger == trigger, events.c.key == PAUSED_KEY)
            )
            if result.rowcount != 1:
                return False
            txn.record_in(conn, audit)
        return True

    def settle(self, row: EventRow, state: str, *, audit: Any) -> bool:
        """``taken`` → ``state``, with ``audit`` written inside the transaction."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(events)
                .where(events.c.id == row.id, events.c.state == TAKEN)
                .values(state=state, updated_at=utcnow())
            )
            if result.rowcount != 1:
                return False
            txn.record_in(conn, audit)
        return True


def paused_triggers(engine: Engine) -> dict[str, EventRow]:
    """Triggers an operator has paused (read-only: nothing if the table is not there yet)."""
    if not inspect(engine).has_table(events.name):
        return {}
    with engine.connect() as conn:
        found = conn.execute(select(events).where(events.c.key == PAUSED_KEY))
        return {row.trigger: _row(row) for row in found}


def last_events(engine: Engine) -> dict[str, datetime]:
    """When each trigger last took an event (read-only; bookkeeping rows left out)."""
    if not inspect(engine).has_table(events.name):
        return {}
    query = (
        select(events.c.trigger, func.max(events.c.created_at))
        .where(~events.c.key.startswith(ARMED_KEY), ~events.c.key.startswith(PAUSED_KEY))
        .group_by(events.c.trigger)
    )
    with engine.connect() as conn:
        return {trigger: when for trigger, when in conn.execute(query)}
