"""Ingest's writes: a batch of source rows into the ledger inside the caller's transaction.

New rows go in as one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING id,
key_token`` per chunk, sent as driver SQL built once per chunk size: at 100,000 rows
SQLAlchemy's per-row compile and bind processing, and reading every row back, cost more
than the insert itself. Values still pass through the columns' own bind processors (once
per batch for the values every row shares), so what is stored is exactly what SQLAlchemy
would store, on SQLite and PostgreSQL alike. A new row's record is built from what was
inserted; a row whose key was known (or came twice in the batch) is read back and handled
as before: left as it is, or replacing its item when it corrects an invalid row.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Row, select, update

from borough.ledger.models import ItemRecord, ItemState
from borough.ledger.schema import items
from borough.ledger.sealing import Sealer


class Ingested(enum.Enum):
    NEW = "new"  #: first time this key was seen
    KNOWN = "known"  #: already recorded; left as it is
    CORRECTED = "corrected"  #: was an invalid row; the corrected row replaced it


@dataclass(frozen=True)
class NewItem:
    """What ingest records for one source row.

    ``sealed_json``: the canonical JSON of ``{"data", "key", "source"}`` when the caller has
    encoded it already (ingest derives it from the row's digest text); sealed as it is.
    """

    key_token: str
    key: str
    data: dict[str, Any] | None
    source: str | None
    subjects: Sequence[str] = ()
    data_categories: Sequence[str] = ()
    invalid_reason: str | None = None
    digest: str | None = None
    sealed_json: str | None = None


#: The columns an ingested row sets, in the order of the insert's values.
_COLUMNS = (
    "bot",
    "key_token",
    "state",
    "attempt",
    "fence",
    "error",
    "invalid",
    "source",
    "payload",
    "digest",
    "subjects",
    "data_categories",
    "first_run",
    "last_run",
    "created_at",
    "updated_at",
)
#: Columns whose value is the same for every row of a batch (converted once per batch).
_SHARED = frozenset(
    {"bot", "attempt", "fence", "first_run", "last_run", "created_at", "updated_at"}
)
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}

Result = list[tuple[NewItem, ItemRecord, Ingested]]


class ItemIngest:
    """Inserts batches of :class:`NewItem` for one ledger (one dialect, one sealer)."""

    def __init__(
        self, dialect: Dialect, sealer: Sealer, to_item: Callable[[Row[Any]], ItemRecord]
    ) -> None:
        self._sealer = sealer
        self._to_item = to_item
        self._mark = _PLACEHOLDERS[dialect.paramstyle]
        quote = dialect.identifier_preparer.quote
        self._head = (
            f"INSERT INTO {quote(items.name)} ({', '.join(quote(name) for name in _COLUMNS)}) "
            "VALUES "
        )
        self._tail = (
            f" ON CONFLICT ({quote('bot')}, {quote('key_token')}) DO NOTHING "
            f"RETURNING {quote('id')}, {quote('key_token')}"
        )
        processors = {
            name: items.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in _COLUMNS
        }
        self._shared = {name: processors[name] for name in _SHARED}
        #: ``invalid`` is one of two values: both converted once
        self._flags = {flag: _bound(processors["invalid"], flag) for flag in (False, True)}
        self._per_row = [
            (index, processor)
            for index, name in enumerate(_COLUMNS)
            if name not in _SHARED | {"invalid"} and (processor := processors[name]) is not None
        ]
        self._sql: dict[int, str] = {}

    def chunk(
        self, conn: Connection, bot: str, run_id: str, batch: list[NewItem], now: datetime
    ) -> Result:
        """One multi-row insert of the rows whose keys are new; the others read back."""
        firsts: dict[str, NewItem] = {}
        for new in batch:
            firsts.setdefault(new.key_token, new)
        values = {key_token: self._row_values(new) for key_token, new in firsts.items()}
        inserted = self._insert(conn, bot, run_id, firsts, values=values, now=now)
        again = {
            new.key_token
            for new in batch
            if new.key_token not in inserted or firsts[new.key_token] is not new
        }
        stored: dict[str, Row[Any]] = {}
        if again:
            query = select(items).where(items.c.bot == bot, items.c.key_token.in_(list(again)))
            stored = {row.key_token: row for row in conn.execute(query)}
        result: Result = []
        for new in batch:
            if new.key_token not in again:
                ident = inserted[new.key_token]
                record = _record(ident, bot, run_id, new, values=values[new.key_token], now=now)
                result.append((new, record, Ingested.NEW))
                continue
            row = stored[new.key_token]
            if new.key_token in inserted and firsts[new.key_token] is new:
                outcome = Ingested.NEW  # inserted now, and repeated later in the batch
            elif row.invalid and row.digest != new.digest:
                row = self._correct(conn, bot, run_id, new, row=row, now=now)
                stored[new.key_token] = row
                outcome = Ingested.CORRECTED
            else:
                outcome = Ingested.KNOWN
            result.append((new, self._to_item(row), outcome))
        return result

    def _insert(
        self,
        conn: Connection,
        bot: str,
        run_id: str,
        rows: dict[str, NewItem],
        *,
        values: dict[str, tuple[Any, ...]],
        now: datetime,
    ) -> dict[str, int]:
        """Insert ``rows`` (by key token, with their :meth:`_row_values`); {key token: id}
        of those that were new."""
        shared = {
            name: _bound(self._shared[name], value)
            for name, value in (
                ("bot", bot),
                ("attempt", 0),
                ("fence", 0),
                ("first_run", run_id),
                ("last_run", run_id),
                ("created_at", now),
                ("updated_at", now),
            )
        }
        head = (shared["bot"],)
        middle = (shared["attempt"], shared["fence"])
        tail = (shared["first_run"], shared["last_run"], shared["created_at"], shared["updated_at"])
        params: list[Any] = []
        per_row, flags = self._per_row, self._flags
        for key_token, new in rows.items():
            error, invalid, *rest = values[key_token]
            row = (
                *head,
                key_token,
                _state(new).value,
                *middle,
                error,
                flags[invalid],
                *rest,
                *tail,
            )
            if per_row:
                converted = list(row)
                for index, processor in per_row:
                    converted[index] = processor(converted[index])
                row = tuple(converted)
            params += row
        result = conn.exec_driver_sql(self._statement(len(rows)), tuple(params))
        return {key_token: ident for ident, key_token in result}

    def _row_values(self, new: NewItem) -> tuple[Any, ...]:
        """error, invalid, source, payload, digest, subjects, data_categories."""
        return (
            new.invalid_reason,
            new.invalid_reason is not None,
            new.source,
            self._seal(new),
            new.digest,
            _joined(new.subjects),
            _joined(new.data_categories),
        )

    def _statement(self, rows: int) -> str:
        sql = self._sql.get(rows)
        if sql is None:
            one = "(" + ", ".join([self._mark] * len(_COLUMNS)) + ")"
            sql = self._sql[rows] = self._head + ", ".join([one] * rows) + self._tail
        return sql

    def _seal(self, new: NewItem) -> bytes:
        if new.sealed_json is not None:
            return self._sealer.seal_text(new.sealed_json)
        return self._sealer.seal({"key": new.key, "data": new.data, "source": new.source})

    def _correct(
        self, conn: Connection, bot: str, run_id: str, new: NewItem, *, row: Row[Any], now: datetime
    ) -> Row[Any]:
        """A corrected row replaces its invalid item (fenced: the item may not move meanwhile)."""
        where = (items.c.bot == bot, items.c.key_token == new.key_token)
        error, invalid, source, payload, digest, subjects, categories = self._row_values(new)
        conn.execute(
            update(items)
            .where(*where, items.c.fence == row.fence)
            .values(
                fence=row.fence + 1,
                attempt=0,
                state=_state(new).value,
                error=error,
                invalid=invalid,
                source=source,
                payload=payload,
                digest=digest,
                subjects=subjects,
                data_categories=categories,
                last_run=run_id,
                updated_at=now,
            )
        )
        return conn.execute(select(items).where(*where)).one()


def _bound(processor: Callable[[Any], Any] | None, value: Any) -> Any:
    return value if processor is None else processor(value)


def _joined(words: Sequence[str]) -> str:
    return " ".join(sorted(set(words)))


def _state(new: NewItem) -> ItemState:
    return ItemState.FAILED if new.invalid_reason else ItemState.PENDING


def _record(
    ident: int, bot: str, run_id: str, new: NewItem, *, values: tuple[Any, ...], now: datetime
) -> ItemRecord:
    """The record of a row just inserted (``values``: its :meth:`ItemIngest._row_values`),
    as reading it back would give it."""
    return ItemRecord(
        id=ident,
        bot=bot,
        key_token=new.key_token,
        state=_state(new),
        attempt=0,
        fence=0,
        owner_run=None,
        reference=None,
        error=new.invalid_reason,
        source=new.source,
        subjects=values[5].split(),
        data_categories=values[6].split(),
        created_at=now,
        updated_at=now,
        first_run=run_id,
        last_run=run_id,
    )
