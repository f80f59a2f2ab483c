"""Open the ledger database (SQLite WAL by default, PostgreSQL for scale-out)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from borough.errors import LedgerError
from borough.ledger import migrate, schema
from borough.ledger.anchors import AnchorBook
from borough.ledger.auditindex import AuditIndexBook
from borough.ledger.engine import READ_ONLY, is_postgres, is_sqlite, open_engine
from borough.ledger.items import ItemQueue
from borough.ledger.runners import RunnerBook
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
        self.runners = RunnerBook(engine)

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

    def reachable(self) -> bool:
        """Whether the database answers now (a run pauses while it does not)."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except SQLAlchemyError:
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()


class SqliteLedger(Ledger):
    """Embedded default: one file, WAL, ``BEGIN IMMEDIATE`` so claims never race."""

    dialect = "sqlite"

    @classmethod
    def connect(cls, url: str, sealer: Sealer, *, read_only: bool = False) -> SqliteLedger:
        engine = open_engine(url)
        if read_only:  # plain BEGIN: reads a snapshot, never waits for a writer
            engine = engine.execution_options(**{READ_ONLY: True})
        try:
            return cls(engine, sealer)
        except OperationalError as exc:
            raise LedgerError(f"cannot open the SQLite ledger {url}: {exc}") from None


class PostgresLedger(Ledger):
    """Scale-out: the same tables on PostgreSQL, claims with ``FOR UPDATE SKIP LOCKED``."""

    dialect = "postgresql"

    @classmethod
    def connect(cls, url: str, sealer: Sealer) -> PostgresLedger:
        return cls(open_engine(url), sealer)


def open_ledger(url: str, sealer: Sealer, *, read_only: bool = False) -> Ledger:
    """The ledger for a SQLAlchemy URL (``sqlite:///...`` or ``postgresql://...``);
    ``read_only``: for a process that only reads it (operator views)."""
    if is_sqlite(url):
        return SqliteLedger.connect(url, sealer, read_only=read_only)
    if is_postgres(url):
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
