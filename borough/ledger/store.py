"""Open the ledger database (SQLite WAL by default, PostgreSQL for scale-out)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from borough import filemodes
from borough.errors import LedgerError
from borough.ledger import migrate, schema, txn
from borough.ledger.anchors import AnchorBook
from borough.ledger.auditindex import AuditIndexBook
from borough.ledger.items import ItemQueue
from borough.ledger.runs import RunBook
from borough.ledger.sealing import Sealer
from borough.ledger.writers import VerifiedBook, WriterBook


class Ledger:
    """The run book and the work-item queue over one database."""

    dialect = "generic"

    def __init__(self, engine: Engine, sealer: Sealer) -> None:
        self.engine = engine
        self._migrate()
        self.runs = RunBook(engine)
        self.items = ItemQueue(engine, sealer, skip_locked=self.dialect == "postgresql")
        self.anchors = AnchorBook(engine)
        self.audit_index = AuditIndexBook(engine)
        self.audit_writers = WriterBook(engine)
        self.audit_verified = VerifiedBook(engine)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def _migrate(self) -> None:
        self.migrate_engine(self.engine, self.url)

    @staticmethod
    def migrate_engine(engine: Engine, url: str) -> None:
        """Create the tables on first use, upgrade an older ledger, refuse a newer one."""
        try:
            with engine.begin() as conn:
                migrate.migrate(
                    conn,
                    schema.metadata,
                    key="schema_version",
                    version=schema.SCHEMA_VERSION,
                    what=f"ledger at {url}",
                )
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot open the ledger at {url}: {exc}") from None

    def close(self) -> None:
        self.engine.dispose()


class SqliteLedger(Ledger):
    """Embedded default: one file, WAL, ``BEGIN IMMEDIATE`` so claims never race."""

    dialect = "sqlite"

    @classmethod
    def connect(cls, url: str, sealer: Sealer) -> SqliteLedger:
        engine = sqlite_engine(url)
        try:
            return cls(engine, sealer)
        except OperationalError as exc:
            raise LedgerError(f"cannot open the SQLite ledger {url}: {exc}") from None


class PostgresLedger(Ledger):
    """Scale-out: the same tables on PostgreSQL, claims with ``FOR UPDATE SKIP LOCKED``."""

    dialect = "postgresql"

    @classmethod
    def connect(cls, url: str, sealer: Sealer) -> PostgresLedger:
        return cls(postgres_engine(url), sealer)


def sqlite_engine(url: str) -> Engine:
    """SQLite in WAL mode; transactions take the write lock at once (``BEGIN IMMEDIATE``)
    unless the connection is marked :data:`borough.ledger.txn.READ_ONLY`, so reads never
    queue behind writers; :data:`~borough.ledger.txn.BUSY_MS` sets how long a write waits."""
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    if not in_memory:
        database = url.removeprefix("sqlite:///")
        filemodes.private_file(Path(database))  # its -wal and -shm files take this mode
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
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(txn.READ_ONLY):
            conn.exec_driver_sql("BEGIN")  # a snapshot read: never waits for a writer
            return
        conn.exec_driver_sql(f"PRAGMA busy_timeout={int(options.get(txn.BUSY_MS, 60000))}")
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def postgres_engine(url: str) -> Engine:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        return create_engine(url, pool_pre_ping=True)
    except ModuleNotFoundError:
        raise LedgerError(
            "a PostgreSQL ledger needs psycopg: pip install 'borough[scale]'"
        ) from None


def open_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return sqlite_engine(url)
    if url.startswith(("postgresql", "postgres")):
        return postgres_engine(url)
    raise LedgerError(f"unsupported ledger URL {url!r}: use sqlite:///PATH or postgresql://...")


def open_ledger(url: str, sealer: Sealer) -> Ledger:
    """The ledger for a SQLAlchemy URL (``sqlite:///...`` or ``postgresql://...``)."""
    if url.startswith("sqlite"):
        return SqliteLedger.connect(url, sealer)
    if url.startswith(("postgresql", "postgres")):
        return PostgresLedger.connect(url, sealer)
    raise LedgerError(f"unsupported ledger URL {url!r}: use sqlite:///PATH or postgresql://...")


class AuditBooks:
    """The ledger's audit tables without its keys: for commands that need no passphrase
    (``audit export``, ``audit reindex``, ``audit verify --public-key``)."""

    def __init__(self, url: str) -> None:
        self.engine = open_engine(url)
        try:
            Ledger.migrate_engine(self.engine, self.engine.url.render_as_string(True))
        except BaseException:
            self.engine.dispose()
            raise
        self.index = AuditIndexBook(self.engine)
        self.writers = WriterBook(self.engine)
        self.verified = VerifiedBook(self.engine)
        self.anchors = AnchorBook(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str)
