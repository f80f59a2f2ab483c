"""One active scheduler per schedule store: a file lock for SQLite, an advisory lock for
PostgreSQL (a standby waits on it and takes over when the active one stops or dies).

Both locks are released by the operating system or the database when the holder dies,
so a killed scheduler never leaves a stale lock behind. A PostgreSQL lock is also lost
when the holder's session ends, so the active scheduler proves it still holds it
(:meth:`SchedulerLock.held`) before each round of fires, and stands by when it cannot.

Takeover after a network cut is bounded by the database, not by luck: the lock's session
asks the server to end it once it has been silent for ``LOCK_IDLE_SECONDS``
(``idle_session_timeout``, PostgreSQL 14 or later; ``idle_in_transaction_session_timeout``
for a cut between a proof's query and its commit), and the holder keeps it from being
silent by proving the lock from a thread of its own every ``idle / 5`` seconds. A holder
cut off (or frozen) therefore loses its lock within ``LOCK_IDLE_SECONDS`` even when TCP
tells the server nothing (a proxy or NAT on the way answers its keepalives), and a standby
polling every ``STANDBY_POLL_SECONDS`` takes it within :data:`TAKEOVER_SECONDS`.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from loguru import logger
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from borough.host import host_name
from scheduler.errors import SchedulerLockedError

ADVISORY_KEY = 0x626F726F  # "boro"
APP_NAME = "borough-scheduler"
#: The server ends the lock's session after this long without a query from its holder.
LOCK_IDLE_SECONDS = 15.0
#: How often a standby tries the lock.
STANDBY_POLL_SECONDS = 1.0
#: A cut-off or frozen holder's lock reaches a standby within this (see the docstring).
TAKEOVER_SECONDS = LOCK_IDLE_SECONDS + STANDBY_POLL_SECONDS
#: The lock's own connection notices a silent network (a partition that drops packets
#: rather than closing the connection) within about 15 s on both ends: libpq gives up on
#: unacknowledged data and keepalives here, and the server ends the session (releasing the
#: lock for the standby) by its keepalives, set for this session below, or at the latest
#: by its idle timeout (LOCK_IDLE_SECONDS), which no answer to a keepalive can defeat.
LOCK_CONNECT_ARGS = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,
    "connect_timeout": 10,
}
SESSION_SETTINGS = text(
    "SELECT set_config('tcp_keepalives_idle', '5', false), "
    "set_config('tcp_keepalives_interval', '2', false), "
    "set_config('tcp_keepalives_count', '3', false), "
    "set_config('idle_session_timeout', :idle_ms, false), "
    # a cut between a proof's query and its commit leaves the session in a transaction,
    # where idle_session_timeout does not apply: bound that case by the same time
    "set_config('idle_in_transaction_session_timeout', :idle_ms, false)"
)
HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = :k "
    "AND pid = pg_backend_pid() AND granted)"
)
#: advisory locks are per database; pg_locks shows those of every database on the server
THIS_DATABASE = "(SELECT oid FROM pg_database WHERE datname = current_database())"
Stop = Callable[[], bool]


def holder_info() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": host_name(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def describe_holder(info: dict[str, Any] | None) -> str:
    if not info:
        return "another scheduler"
    pid, host, since = info.get("pid"), info.get("host"), info.get("since")
    return f"the scheduler with pid {pid} on {host} (since {since} UTC)"


class SchedulerLock(ABC):
    """Held for the whole life of an active scheduler."""

    @abstractmethod
    def acquire(
        self, *, wait: bool = False, poll: float = STANDBY_POLL_SECONDS, stop: Stop | None = None
    ) -> bool:
        """Take the lock, or raise :class:`SchedulerLockedError` (``wait``: block instead,
        until ``stop()`` says to give up: then ``False``)."""

    @abstractmethod
    def release(self) -> None: ...

    @abstractmethod
    def held(self) -> bool:
        """Whether this scheduler still holds the lock (proved, not remembered)."""

    @abstractmethod
    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock now (``None``: nobody; no scheduler is running)."""


class FileLock(SchedulerLock):
    """``flock`` on a file next to the SQLite store; its content names the holder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(
        self, *, wait: bool = False, poll: float = STANDBY_POLL_SECONDS, stop: Stop | None = None
    ) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while we run
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    info = self._read(handle)
                    handle.close()
                    raise SchedulerLockedError(
                        f"{describe_holder(info)} is using this schedule store ({self.path}); "
                        "stop it first, or start this one with --standby to take over "
                        "when it stops"
                    ) from None
                if stop is not None and stop():
                    handle.close()
                    return False
                time.sleep(poll)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder_info()))
        handle.flush()
        self._handle = handle
        return True

    def held(self) -> bool:
        return self._handle is not None  # an flock lasts as long as the process

    def release(self) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def holder(self) -> dict[str, Any] | None:
        if self._handle is not None:
            return self._read(self._handle)
        if not self.path.exists():
            return None
        with open(self.path, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return self._read(handle) or {}
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None

    @staticmethod
    def _read(handle: IO[str]) -> dict[str, Any] | None:
        handle.seek(0)
        try:
            data = json.loads(handle.read() or "null")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


class PostgresLock(SchedulerLock):
    """A session advisory lock on a connection of its own, kept open while the scheduler
    runs and proved by a thread every ``idle_seconds / 5``; the server ends the session
    after ``idle_seconds`` without a proof. ``engine`` (the store's) answers :meth:`holder`."""

    def __init__(self, engine: Engine, *, idle_seconds: float = LOCK_IDLE_SECONDS) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self._lock_engine = create_engine(
            engine.url, poolclass=NullPool, connect_args=LOCK_CONNECT_ARGS
        )
        self._conn: Connection | None = None
        self._guard = threading.Lock()  # APScheduler's thread and the service's both ask
        self._proving: threading.Event | None = None  # set: the proving thread stops

    def acquire(
        self, *, wait: bool = False, poll: float = STANDBY_POLL_SECONDS, stop: Stop | None = None
    ) -> bool:
        while True:
            try:
                conn = self._try()
            except SQLAlchemyError as exc:
                if not wait:
                    raise
                logger.bind(action="scheduler.lock").warning(
                    "cannot reach the schedule store to wait for its lock: {}", exc.__class__
                )
                conn = None
            if conn is not None:
                break
            if not wait:
                raise SchedulerLockedError(
                    f"{describe_holder(self.holder())} holds this schedule store's lock; stop it "
                    "first, or start this one with --standby to take over when it stops"
                )
            if stop is not None and stop():
                return False
            time.sleep(poll)
        proving = threading.Event()
        with self._guard:
            self._conn, self._proving = conn, proving
        threading.Thread(
            target=self._prove, args=(proving,), name="borough-scheduler-lock", daemon=True
        ).start()
        return True

    def _prove(self, stopped: threading.Event) -> None:
        """Keep the lock's session from going silent while this process holds the lock (a
        slow start-up or loop must not lose it); a failed proof drops it, as ``held`` does."""
        while not stopped.wait(self.idle_seconds / 5):
            if not self.held():
                return

    def _try(self) -> Connection | None:
        """A connection holding the lock, or ``None`` (another holds it)."""
        conn = self._lock_engine.connect()
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}
            ).scalar()
            if not got:
                conn.rollback()
                conn.close()
                return None
            info = holder_info()
            conn.execute(  # application_name holds 63 characters: pid@host is what fits
                text("SELECT set_config('application_name', :name, false)"),
                {"name": f"{APP_NAME} {info['pid']}@{info['host']}"[:63]},
            )
            conn.execute(SESSION_SETTINGS, {"idle_ms": str(round(self.idle_seconds * 1000))})
            conn.commit()
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        return conn

    def held(self) -> bool:
        with self._guard:
            if self._conn is None:
                return False
            try:
                got = bool(self._conn.execute(HELD, {"k": ADVISORY_KEY}).scalar())
                self._conn.commit()
            except SQLAlchemyError:
                got = False
            if not got:
                self._drop()
            return got

    def release(self) -> None:
        with self._guard:
            if self._conn is None:
                return
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._conn.commit()
            except SQLAlchemyError:
                pass  # the connection is gone, and the lock with it
            self._drop()

    def _drop(self) -> None:
        if self._proving is not None:
            self._proving.set()
            self._proving = None
        if self._conn is not None:
            self._conn.invalidate()
            self._conn.close()
            self._conn = None

    def holder(self) -> dict[str, Any] | None:
        query = text(
            "SELECT a.application_name, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.objid = :k AND l.granted "
            f"AND l.database = {THIS_DATABASE}"
        )
        with self.engine.connect() as conn:
            row = conn.execute(query, {"k": ADVISORY_KEY}).first()
        if row is None:
            return None
        pid, _, host = str(row.application_name).removeprefix(APP_NAME + " ").partition("@")
        since = row.backend_start.astimezone(UTC).isoformat(timespec="seconds")
        return {"pid": int(pid) if pid.isdigit() else pid, "host": host, "since": since}


def lock_for(store_url: str, engine: Engine) -> SchedulerLock:
    if store_url.startswith("sqlite"):
        database = Path(store_url.removeprefix("sqlite:///"))
        return FileLock(database.with_suffix(".lock"))
    return PostgresLock(engine)
