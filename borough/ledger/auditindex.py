"""The audit index in the ledger database (SQLite or PostgreSQL): rows in, pages out.

Rows arrive from each writer in batches and from ``catch_up``/``reindex`` reading the files;
a row already there is left alone (``ON CONFLICT DO NOTHING``), so two processes indexing
the same records never clash. Reads never load the whole table: pages use the indexes on
time, run, item, action and actor; streams are fetched in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    delete,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from borough.audit.indexrows import ChainRow, Entry, Filters, IndexRow, Mark
from borough.ledger import txn
from borough.ledger.engine import BUSY_MS, READ_ONLY
from borough.ledger.schema import audit_index, audit_index_marks, audit_people

_COLUMNS = (
    audit_index.c.trail,
    audit_index.c.seq,
    audit_index.c.ts,
    audit_index.c.action,
    audit_index.c.outcome,
    audit_index.c.run_id,
    audit_index.c.bot,
    audit_index.c.item,
    audit_index.c.actor,
    audit_index.c.segment,
    audit_index.c.byte_offset,
    audit_index.c.length,
    audit_index.c.hash,
)
_CHUNK = 1000
INDEX_WAIT_MS = 1000
FREQUENT = 10_000  #: an action matching this many rows is paged through the time index


def _insert_sql(table: Any, mark: str) -> str:
    """A plain ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite and PostgreSQL) of every column
    in table order, for a driver-level ``executemany`` of tuples."""
    names = ", ".join(column.name for column in table.columns)
    marks = ", ".join(mark for _ in table.columns)
    return f"INSERT INTO {table.name} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING"


def _row(found: Any) -> IndexRow:
    return IndexRow(*found)


class AuditIndexBook:
    """:class:`~borough.audit.indexrows.IndexStore` over ``borough_audit_index``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        # Rows are sent by the trail's writer, which may hold the trail's lock while a ledger
        # write elsewhere holds the ledger's and waits for the trail: wait a second at most
        # (rows not sent are added from the files by the next reader).
        self._writer = engine.execution_options(**{BUSY_MS: INDEX_WAIT_MS})
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._sql_index = _insert_sql(audit_index, mark)
        self._sql_people = _insert_sql(audit_people, mark)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A connection for reading: on SQLite it takes no write lock."""
        with self._engine.connect() as conn:
            yield conn.execution_options(**{READ_ONLY: True})

    # -- writing ------------------------------------------------------------------------------
    def _insert(self, table: Any) -> Any:
        if self._dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        if self._dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        return insert(table)

    def joins_a_write(self) -> bool:
        """Whether rows added now join a ledger write this thread is recording."""
        return txn.current(self._engine) is not None

    def add(self, entries: Sequence[Entry]) -> None:
        """Insert ``entries`` (one multi-row insert per table, no per-row statement work:
        the writer sends every group's records through here)."""
        if not entries:
            return
        rows: list[tuple[Any, ...]] = [e.row for e in entries]  # named tuples, column order
        # in key order: person tokens are random, and a batch's rows inserted in their
        # index's order fill each page of it at one visit (a third of their insert time)
        people = sorted((t, e.row.ts, e.row.trail, e.row.seq) for e in entries for t in e.people)
        ongoing = txn.current(self._engine)
        if ongoing is not None:  # sent while this thread records a ledger write: join it
            self._add(ongoing, rows, people)
            return
        with self._writer.begin() as conn:
            self._add(conn, rows, people)

    def _add(
        self, conn: Connection, rows: list[tuple[Any, ...]], people: list[tuple[Any, ...]]
    ) -> None:
        conn.exec_driver_sql(self._sql_index, rows)
        if people:
            conn.exec_driver_sql(self._sql_people, people)

    def forget(self, trail: str, *, through_seq: int | None = None) -> int:
        """Remove a trail's rows (all, or those up to ``through_seq``: retention)."""
        index_where = [audit_index.c.trail == trail]
        people_where = [audit_people.c.trail == trail]
        if through_seq is not None:
            index_where.append(audit_index.c.seq <= through_seq)
            people_where.append(audit_people.c.seq <= through_seq)
        with self._engine.begin() as conn:
            if through_seq is None:
                conn.execute(delete(audit_index_marks).where(audit_index_marks.c.trail == trail))
            conn.execute(delete(audit_people).where(*people_where))
            return int(conn.execute(delete(audit_index).where(*index_where)).rowcount or 0)

    # -- reading ------------------------------------------------------------------------------
    def last(self, trail: str) -> IndexRow | None:
        query = (
            select(*_COLUMNS)
            .where(audit_index.c.trail == trail)
            .order_by(audit_index.c.seq.desc())
            .limit(1)
        )
        with self._read() as conn:
            found = conn.execute(query).first()
        return None if found is None else _row(found)

    def mark(self, trail: str) -> Mark | None:
        query = select(
            audit_index_marks.c.seq,
            audit_index_marks.c.hash,
            audit_index_marks.c.segment,
            audit_index_marks.c.byte_offset,
        ).where(audit_index_marks.c.trail == trail)
        with self._read() as conn:
            found = conn.execute(query).first()
        return None if found is None else Mark(*found)

    def set_mark(self, trail: str, mark: Mark) -> None:
        values = {
            "seq": mark.seq,
            "hash": mark.hash,
            "segment": mark.segment,
            "byte_offset": mark.end,
        }
        where = audit_index_marks.c.trail == trail
        with self._engine.begin() as conn:
            if not conn.execute(update(audit_index_marks).where(where).values(**values)).rowcount:
                conn.execute(self._insert(audit_index_marks), [{"trail": trail, **values}])

    def count_after(self, trail: str, seq: int) -> int:
        query = (
            select(func.count())
            .select_from(audit_index)
            .where(audit_index.c.trail == trail, audit_index.c.seq > seq)
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def count(self, trail: str) -> int:
        query = select(func.count()).select_from(audit_index).where(audit_index.c.trail == trail)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def trails(self) -> list[str]:
        query = select(audit_index.c.trail).distinct().order_by(audit_index.c.trail)
        with self._read() as conn:
            return [str(t) for t in conn.execute(query).scalars()]

    def page(self, filters: Filters, *, limit: int, offset: int = 0) -> list[IndexRow]:
        """Newest first. An action filter alone that many rows match is served by walking
        the time index backwards (the page fills at once); a rarer one through the action
        index (sorting what matches, fewer than ``FREQUENT``)."""
        with self._read() as conn:
            by_time = self._frequent_action(conn, filters)
            query, keys = self._select(filters, action_by_time=by_time)
            query = query.order_by(*(c.desc() for c in keys)).limit(limit).offset(offset)
            return [_row(r) for r in conn.execute(query)]

    def _frequent_action(self, conn: Connection, filters: Filters) -> bool:
        if not filters.action or filters.run or filters.item or filters.person or filters.actor:
            return False
        inner = self._select(filters)[0].limit(FREQUENT).subquery()
        return int(conn.execute(select(func.count()).select_from(inner)).scalar_one()) >= FREQUENT

    def total(self, filters: Filters, *, cap: int) -> int:
        """How many rows match, counting no further than ``cap`` (a page says "more than")."""
        inner = self._select(filters)[0].limit(cap).subquery()
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())

    def stream(
        self, filters: Filters, *, newest_first: bool = False, chain_order: bool = False
    ) -> Iterator[IndexRow]:
        """Every matching row in time order (or each writer's in chain order), fetched a
        chunk at a time by keyset, so that memory stays flat however many match."""
        selected, keys = self._select(filters)
        columns = keys[1:] if chain_order else keys
        key = tuple_(*columns)
        after: tuple[object, ...] | None = None
        while True:
            query = selected.order_by(*(c.desc() if newest_first else c for c in columns))
            if after is not None:
                query = query.where(key < tuple_(*after) if newest_first else key > tuple_(*after))
            with self._read() as conn:
                chunk = [_row(r) for r in conn.execute(query.limit(_CHUNK))]
            yield from chunk
            if len(chunk) < _CHUNK:
                return
            last = chunk[-1]
            after = (last.trail, last.seq) if chain_order else (last.ts, last.trail, last.seq)

    def of_trail(self, trail: str, *, after_seq: int = 0) -> Iterator[IndexRow]:
        """A trail's rows in seq order (for verify), a chunk at a time."""
        for found in self._by_seq(trail, _COLUMNS, after_seq, _CHUNK * 10, seq_at=1):
            yield _row(found)

    def chain_rows(self, trail: str) -> Iterator[ChainRow]:
        """A trail's (seq, hash, segment, offset, length) in seq order: only what verify
        needs, as plain tuples (a million rows in seconds)."""
        columns = (
            audit_index.c.seq,
            audit_index.c.hash,
            audit_index.c.segment,
            audit_index.c.byte_offset,
            audit_index.c.length,
        )
        yield from self._by_seq(trail, columns, 0, _CHUNK * 20, seq_at=0)

    def _by_seq(
        self, trail: str, columns: Sequence[Any], after_seq: int, size: int, *, seq_at: int
    ) -> Iterator[Any]:
        """``columns`` of a trail's rows in seq order, ``size`` at a time by keyset, as the
        driver's tuples (every column is a plain string or number)."""
        while True:
            query = (
                select(*columns)
                .where(audit_index.c.trail == trail, audit_index.c.seq > after_seq)
                .order_by(audit_index.c.seq)
                .limit(size)
            )
            with self._read() as conn:
                result = conn.execute(query)
                chunk = list(result.cursor.fetchall())
                result.close()
            yield from chunk
            if len(chunk) < size:
                return
            after_seq = chunk[-1][seq_at]

    # -- queries ------------------------------------------------------------------------------
    def _select(
        self, filters: Filters, *, action_by_time: bool = False
    ) -> tuple[Select[Any], tuple[Any, Any, Any]]:
        """The rows matching ``filters``, and the (ts, trail, seq) columns to order them by:
        a person's rows in the order of their own index, so a page needs no sort."""
        query = select(*_COLUMNS)
        keys: tuple[Any, Any, Any] = (audit_index.c.ts, audit_index.c.trail, audit_index.c.seq)
        if filters.person:
            people = (
                select(audit_people.c.ts, audit_people.c.trail, audit_people.c.seq)
                .where(audit_people.c.token == filters.person)
                .subquery()
            )
            query = query.join(
                people,
                and_(audit_index.c.trail == people.c.trail, audit_index.c.seq == people.c.seq),
            )
            keys = (people.c.ts, people.c.trail, people.c.seq)
        if filters.run:
            query = query.where(audit_index.c.run_id == filters.run)
        if filters.item:
            query = query.where(audit_index.c.item == filters.item)
        if filters.actor:
            query = query.where(audit_index.c.actor == filters.actor)
        if filters.action:  # a prefix, as a range so that the index serves it
            # (or, for a frequent one, not the action index: the time index walked backwards)
            action = audit_index.c.action.concat("") if action_by_time else audit_index.c.action
            query = query.where(action >= filters.action, action < filters.action + "\U0010ffff")
        if filters.trail:
            query = query.where(audit_index.c.trail == filters.trail)
        if filters.since:
            query = query.where(audit_index.c.ts >= filters.since)
        if filters.until:
            query = query.where(audit_index.c.ts < filters.until)
        return query, keys
