"""One way to open borough's databases (the ledger, the schedule store) from a URL.

SQLite: a private file (its ``-wal`` and ``-shm`` files take its mode), WAL (checkpointed
every :data:`WAL_CHECKPOINT_PAGES` pages), full synchronous commits, a 60 s busy timeout
(:data:`BUSY_MS` sets another), foreign keys, and ``BEGIN IMMEDIATE`` for every
transaction so two writers queue instead of failing halfway — except on a connection
marked :data:`READ_ONLY`, whose plain ``BEGIN`` reads a snapshot without waiting for a
writer (a read made while this process holds the write lock, such as the audit writer
looking up its anchor inside an operator's ledger transaction, would otherwise wait for
itself). PostgreSQL: psycopg 3, with connections
checked before use. Both options are execution options:
``engine.execution_options(**{READ_ONLY: True})``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from borough import filemodes
from borough.errors import LedgerError

IN_MEMORY = ("sqlite://", "sqlite:///:memory:")
READ_ONLY = "borough_read_only"  #: a deferred ``BEGIN``: a WAL snapshot, never waits
BUSY_MS = "borough_busy_ms"  #: how long ``BEGIN IMMEDIATE`` waits for the write lock
BUSY_MS_DEFAULT = 60_000
#: WAL pages written before a commit copies them into the database (SQLite's default is
#: 1,000: 4 MiB). Ingest's batches touch pages all over the items table's and the audit
#: index's keys (tokens are random); checkpointing a tenth as often copies a page changed by
#: several batches once, not once each (a third of ingest's commit CPU). The WAL file grows
#: to about 40 MiB; every commit is still fsynced.
WAL_CHECKPOINT_PAGES = 10_000


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres"))


def dialect_insert(dialect: str) -> Any:
    """``insert`` of ``dialect`` (with ``on_conflict_do_nothing``); imports only that dialect
    (PostgreSQL's costs a read-only command on a SQLite ledger ~30 ms for nothing)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def open_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///PATH`` or ``postgresql://...``), set up as above."""
    if is_sqlite(url):
        return _sqlite_engine(url)
    if is_postgres(url):
        return _postgres_engine(url)
    raise LedgerError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")


def _sqlite_engine(url: str) -> Engine:
    in_memory = url in IN_MEMORY
    if not in_memory:
        filemodes.private_file(Path(url.removeprefix("sqlite:///")))
    engine = create_engine(
        url,
        connect_args={"timeout": 60, "check_same_thread": False},
        poolclass=StaticPool if in_memory else None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_MS_DEFAULT}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")  # a snapshot read: never waits for a writer
            return
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(options.get(BUSY_MS, BUSY_MS_DEFAULT))}")
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgres_engine(url: str) -> Engine:
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError:
        raise LedgerError(
            "a PostgreSQL database needs psycopg: pip install 'borough[scale]'"
        ) from None
