"""One active scheduler per schedule store: a file lock for SQLite, an advisory lock for
PostgreSQL (a standby waits on it and takes over when the active one stops or dies).

Both locks are released by the operating system or the database when the holder dies,
so a killed scheduler never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, text

from borough.host import host_name
from scheduler.errors import SchedulerLockedError

ADVISORY_KEY = 0x626F726F  # "boro"
APP_NAME = "borough-scheduler"


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
    def acquire(self, *, wait: bool = False, poll: float = 1.0) -> None:
        """Take the lock, or raise :class:`SchedulerLockedError` (``wait``: block instead)."""

    @abstractmethod
    def release(self) -> None: ...

    @abstractmethod
    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock now (``None``: nobody; no scheduler is running)."""


class FileLock(SchedulerLock):
    """``flock`` on a file next to the SQLite store; its content names the holder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self, *, wait: bool = False, poll: float = 1.0) -> None:
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
                time.sleep(poll)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder_info()))
        handle.flush()
        self._handle = handle

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
    """A session advisory lock on a connection kept open while the scheduler runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None

    def acquire(self, *, wait: bool = False, poll: float = 1.0) -> None:
        conn = self.engine.connect()
        while True:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}
            ).scalar()
            conn.commit()
            if got:
                break
            if not wait:
                conn.close()
                raise SchedulerLockedError(
                    f"{describe_holder(self.holder())} holds this schedule store's lock; stop it "
                    "first, or start this one with --standby to take over when it stops"
                )
            time.sleep(poll)
        info = holder_info()
        conn.execute(  # application_name holds 63 characters: pid@host is what fits
            text("SELECT set_config('application_name', :name, false)"),
            {"name": f"{APP_NAME} {info['pid']}@{info['host']}"[:63]},
        )
        conn.commit()
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            self._conn.commit()
            self._conn.close()
            self._conn = None

    def holder(self) -> dict[str, Any] | None:
        query = text(
            "SELECT a.application_name, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.objid = :k AND l.granted"
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
