"""Reading the work-item ledger (by id, by filters, counts), for the queue and for people."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row, func, or_, select, update

from borough.errors import LedgerError
from borough.ledger.engine import READ_ONLY
from borough.ledger.models import TERMINAL_STATES, ItemRecord, ItemState
from borough.ledger.schema import items
from borough.ledger.sealing import Sealer


class ItemReader:
    """The read side of :class:`~borough.ledger.items.ItemQueue` (and retention scrubbing)."""

    def __init__(self, engine: Engine, sealer: Sealer) -> None:
        self._engine = engine
        self._sealer = sealer
        #: reads of committed items (a worker's own, just claimed): a snapshot on SQLite,
        #: never ``BEGIN IMMEDIATE`` (which would queue behind every writer)
        self._reader = engine.execution_options(**{READ_ONLY: True})

    def get(self, item_id: int, *, unseal: bool = False) -> ItemRecord:
        with self._reader.connect() as conn:
            row = conn.execute(select(items).where(items.c.id == item_id)).first()
        if row is None:
            raise LedgerError(f"no item {item_id} in the ledger; see `borough items list`")
        return self._to_item(row, unseal=unseal)

    def list(
        self,
        *,
        bot: str | None = None,
        states: Iterable[ItemState] | None = None,
        run_id: str | None = None,
        token: str | None = None,
        limit: int = 100,
        offset: int = 0,
        unseal: bool = False,
    ) -> list[ItemRecord]:
        query = select(items).order_by(items.c.id).limit(limit).offset(offset)
        if bot:
            query = query.where(items.c.bot == bot)
        if states is not None:
            query = query.where(items.c.state.in_([s.value for s in states]))
        if run_id:
            query = query.where(or_(items.c.last_run == run_id, items.c.first_run == run_id))
        if token:
            query = query.where(
                or_(items.c.key_token == token, items.c.subjects.contains(token, autoescape=True))
            )
        with self._engine.connect() as conn:
            return [self._to_item(row, unseal=unseal) for row in conn.execute(query)]

    def count_by_state(
        self, *, bot: str | None = None, run_id: str | None = None
    ) -> dict[ItemState, int]:
        query = select(items.c.state, func.count()).group_by(items.c.state)
        if bot:
            query = query.where(items.c.bot == bot)
        if run_id:
            query = query.where(items.c.last_run == run_id)
        with self._engine.connect() as conn:
            return {ItemState(state): count for state, count in conn.execute(query)}

    def holders(self, bot: str, *, besides: str | None = None) -> set[str]:
        """The runs holding (CLAIMED or IN_FLIGHT) items of ``bot``, except ``besides``."""
        held = (ItemState.CLAIMED.value, ItemState.IN_FLIGHT.value)
        query = (
            select(items.c.owner_run)
            .where(items.c.bot == bot, items.c.state.in_(held), items.c.owner_run.is_not(None))
            .distinct()
        )
        with self._engine.connect() as conn:
            return {run for run in conn.execute(query).scalars() if run != besides}

    def scrub_payloads(self, *, before: datetime) -> int:
        """Retention: drop the sealed data of finished items last changed before ``before``."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(items)
                .where(
                    items.c.state.in_([s.value for s in TERMINAL_STATES]),
                    items.c.updated_at < before,
                    items.c.payload.is_not(None),
                )
                .values(payload=None)
            )
        return int(result.rowcount)

    def _to_item(self, row: Row[Any], *, unseal: bool) -> ItemRecord:
        record = ItemRecord(
            id=row.id,
            bot=row.bot,
            key_token=row.key_token,
            state=ItemState(row.state),
            attempt=row.attempt,
            fence=row.fence,
            owner_run=row.owner_run,
            reference=row.reference,
            error=row.error,
            source=row.source,
            subjects=row.subjects.split() if row.subjects else [],
            data_categories=row.data_categories.split() if row.data_categories else [],
            created_at=row.created_at,
            updated_at=row.updated_at,
            not_before=row.not_before,
            first_run=row.first_run,
            last_run=row.last_run,
            resolution=row.resolution,
        )
        if unseal and row.payload is not None:
            payload = self._sealer.unseal(row.payload)
            record.key = payload.get("key")
            record.data = payload.get("data")
        return record


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
