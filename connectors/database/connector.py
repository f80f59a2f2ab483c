"""``kind: database``: read items with parameterised queries, write each item in one
transaction.

Exactly once, by the ledger's rules: the worker records the item's intent (IN_FLIGHT)
before :meth:`DatabaseConnector.transaction` commits, the connector proves the run's lease
right before ``COMMIT`` (a fenced run commits nothing), and a bot's ``find_existing`` asks
the database by the item's key (:meth:`~DatabaseConnector.one`) — so a run killed between
the database's commit and the ledger's DONE is settled by that lookup, never written
twice. The password comes from the secret store (``credential:``) and is kept out of
every log; errors name the URL without it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from borough.connect import AppServices, Connector
from borough.errors import ConnectorError, TransientError
from connectors.database.settings import DatabaseSettings

Row = dict[str, Any]


class Writes:
    """The statements of one item's transaction (see :meth:`DatabaseConnector.transaction`)."""

    def __init__(self, owner: DatabaseConnector, conn: Connection) -> None:
        self._owner = owner
        self._conn = conn

    def execute(self, query: str, **params: Any) -> int:
        """Run a named query (or SQL text) with ``params``; the number of rows it changed."""
        try:
            result = self._conn.execute(self._owner.statement(query), params)
        except SQLAlchemyError as exc:
            raise self._owner._error(exc, query) from None
        return int(result.rowcount)

    def one(self, query: str, **params: Any) -> Row | None:
        try:
            row = self._conn.execute(self._owner.statement(query), params).mappings().first()
        except SQLAlchemyError as exc:
            raise self._owner._error(exc, query) from None
        return None if row is None else dict(row)


class DatabaseConnector(Connector):
    kind: ClassVar[str] = "database"
    Settings: ClassVar[type[BaseModel]] = DatabaseSettings

    def __init__(self, name: str, settings: DatabaseSettings, services: AppServices) -> None:
        super().__init__(name, settings, services)
        url = make_url(settings.url)
        if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
            path = (
                Path(url.database) if url.database.startswith("/") else services.home / url.database
            )
            path.parent.mkdir(parents=True, exist_ok=True)  # SQLite makes the file, not its folder
            url = url.set(database=str(path))
        if settings.credential is not None:
            password = services.secret(settings.credential)
            services.keep_out(password, secret=True)
            url = url.set(password=password)
        self.where = url.render_as_string(hide_password=True)
        self.engine: Engine = create_engine(url, **_engine_options(url.drivername, settings))

    # -- reading --------------------------------------------------------------------------------
    def statement(self, query: str) -> Any:
        """A named query of the app's ``queries:``, or the SQL text itself."""
        return text(self.settings.queries.get(query, query))

    def rows(self, query: str, **params: Any) -> Iterator[Row]:
        """Rows of a query, streamed, as dicts (items come from here)."""
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True).execute(
                    self.statement(query), params
                )
                for row in result.mappings():
                    yield dict(row)
        except SQLAlchemyError as exc:
            raise self._error(exc, query) from None

    def one(self, query: str, **params: Any) -> Row | None:
        """The first row of a query, or None (``find_existing`` asks this by key)."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(self.statement(query), params).mappings().first()
        except SQLAlchemyError as exc:
            raise self._error(exc, query) from None
        return None if row is None else dict(row)

    # -- writing --------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Writes]:
        """One item's writes, committed together after the run's lease is proved (or not
        at all: an exception, a lost lease or a kill rolls every one of them back)."""
        try:
            with self.engine.connect() as conn, conn.begin() as txn:
                yield Writes(self, conn)
                self.services.check_lease()  # a fenced run must not commit
                txn.commit()
        except SQLAlchemyError as exc:
            raise self._error(exc, "commit") from None

    def close(self) -> None:
        self.engine.dispose()

    def _error(self, exc: SQLAlchemyError, query: str) -> Exception:
        """Lost connections, lock waits and deadlocks are retried (TransientError);
        anything else is a ConnectorError naming the database without its password."""
        cause = getattr(exc, "orig", None) or exc
        detail = str(cause).splitlines()[0][:300] if str(cause) else type(cause).__name__
        what = f"database {self.name} ({self.where}), {query}: {detail}"
        if isinstance(exc, DBAPIError) and (exc.connection_invalidated or _is_transient(exc)):
            return TransientError(what, app=self.name, step=query)
        return ConnectorError(what)


def _engine_options(driver: str, settings: DatabaseSettings) -> Mapping[str, Any]:
    if driver.startswith("sqlite"):
        return {"connect_args": {"timeout": settings.timeout_seconds}}
    if driver.startswith("postgresql"):
        return {
            "connect_args": {"connect_timeout": int(settings.timeout_seconds)},
            "pool_pre_ping": True,
        }
    return {"pool_pre_ping": True}


def _is_transient(exc: DBAPIError) -> bool:
    """Lost connections, lock waits and serialisation failures are worth a retry."""
    name = type(exc.orig).__name__ if exc.orig is not None else ""
    words = str(exc.orig).lower() if exc.orig is not None else ""
    return name in ("OperationalError", "InterfaceError") or any(
        word in words for word in ("deadlock", "could not serialize", "database is locked")
    )
