"""A run's lease on its own row: renewed by a heartbeat, proven before every claim and intent.

Another process may take over a run's items only after reaping the run, and the reap is a
conditional ``UPDATE`` (still RUNNING, heartbeat still stale) that serialises with the
holder's renewal (``UPDATE ... WHERE status = 'running'``). So a renewal that changes
nothing means the run was reaped: the run is *fenced* and must stop before any intent.
Before each claim and intent the run proves, in the same transaction, that its row is
RUNNING and renewed within ``lease_seconds``; since a silent run of another host is reaped
only after ``lease_seconds + adopt_grace_seconds``, at least the grace remains for the
effect that follows. A paused process trusts no lease it has not renewed since waking:
the local check counts silence on a clock that runs while the process is stopped.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from loguru import logger
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from borough.errors import LedgerError, RunFencedError
from borough.ledger.models import RunStatus
from borough.ledger.schema import runs
from borough.ledger.times import utcnow

T = TypeVar("T")


def boot_clock() -> float:
    """Seconds on a clock that keeps counting while the process is stopped or suspended."""
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):  # not Linux
        return time.monotonic()


class LeaseStale(LedgerError):
    """The run row is still ours but its heartbeat is too old to prove the lease: renew."""


@dataclass
class RunLease:
    """This process's hold on run ``run_id`` (host and pid as the run row records them)."""

    run_id: str
    lease_seconds: float
    grace_seconds: float
    host: str
    pid: int = field(default_factory=os.getpid)
    renewed_mark: float = field(default_factory=boot_clock)
    fenced: str | None = None
    fenced_silent: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def silent_seconds(self) -> float:
        """Time since the last renewal that reached the ledger (pauses included)."""
        return max(boot_clock() - self.renewed_mark, 0.0)

    def mark_renewed(self, mark: float) -> None:
        with self._lock:
            self.renewed_mark = max(self.renewed_mark, mark)

    def fence(self, reason: str) -> None:
        with self._lock:
            if self.fenced is None:
                self.fenced = reason
                self.fenced_silent = self.silent_seconds()

    def error(self) -> RunFencedError:
        return RunFencedError(
            f"run {self.run_id} stopped itself: {self.fenced}", silent_seconds=self.fenced_silent
        )

    def prove(self, conn: Connection) -> None:
        """In the caller's transaction: the row is ours, RUNNING and recently renewed.

        Raises :class:`RunFencedError` if the run was taken over, :class:`LeaseStale` if
        only the heartbeat is too old (renew, then try again).
        """
        if self.fenced is not None:
            raise self.error()
        row = conn.execute(
            select(runs.c.status, runs.c.heartbeat_at, runs.c.host, runs.c.pid)
            .where(runs.c.id == self.run_id)
            .with_for_update(read=True)
        ).first()
        if row is None or row.status != RunStatus.RUNNING.value:
            status = "gone" if row is None else str(row.status).upper()
            self.fence(self.taken_over(status))
            raise self.error()
        if row.host != self.host or row.pid != self.pid:
            self.fence(f"run {self.run_id} is now held by process {row.pid} on {row.host}")
            raise self.error()
        if row.heartbeat_at is None or row.heartbeat_at < utcnow() - timedelta(
            seconds=self.lease_seconds
        ):
            raise LeaseStale(f"run {self.run_id}: heartbeat older than the lease")

    def taken_over(self, status: str) -> str:
        """Why the run is fenced, once the ledger shows it ``status`` (not RUNNING)."""
        return (
            f"it was silent for {self.silent_seconds():.1f} s (paused, starved or cut off) "
            f"and the ledger now shows it {status}: another process may have taken over its "
            "items, so it records no further intent"
        )


def renew(engine: Engine, lease: RunLease) -> bool:
    """Renew the lease; False (and the lease fenced) if the run is no longer ours to renew."""
    mark = boot_clock()
    now = utcnow()
    with engine.begin() as conn:
        result = conn.execute(
            update(runs)
            .where(
                runs.c.id == lease.run_id,
                runs.c.status == RunStatus.RUNNING.value,
                runs.c.host == lease.host,
                runs.c.pid == lease.pid,
            )
            .values(heartbeat_at=now)
        )
        if result.rowcount == 1:
            lease.mark_renewed(mark)
            return True
        status = conn.execute(select(runs.c.status).where(runs.c.id == lease.run_id)).scalar()
    lease.fence(lease.taken_over(str(status or "gone").upper()))
    return False


def keep(engine: Engine, lease: RunLease) -> None:
    """Make sure the lease still holds: renew now if the heartbeat has fallen behind.

    Cheap while the heartbeat keeps up (no database access); connectors call it right
    before a saving step. Raises :class:`RunFencedError` once the lease cannot be proven.
    """
    if lease.fenced is not None:
        raise lease.error()
    if lease.silent_seconds() <= lease.lease_seconds / 2:
        return
    try:
        held = renew(engine, lease)
    except SQLAlchemyError as exc:
        if lease.silent_seconds() > lease.lease_seconds:
            lease.fence(f"its lease ran out and the ledger cannot be reached to renew it ({exc})")
            raise lease.error() from None
        return
    if not held:
        raise lease.error()


def under_lease(engine: Engine, lease: RunLease, action: Callable[[], T]) -> T:
    """Run ``action`` (which proves the lease in its transaction), renewing once if stale."""
    keep(engine, lease)
    try:
        return action()
    except LeaseStale:
        if not renew(engine, lease):
            raise lease.error() from None
    try:
        return action()
    except LeaseStale:
        lease.fence("its heartbeat cannot be kept within the lease (is the ledger overloaded?)")
        raise lease.error() from None


class Heartbeat(threading.Thread):
    """Renews the run's lease every ``interval`` seconds until stopped or fenced."""

    def __init__(self, engine: Engine, lease: RunLease, interval: float) -> None:
        super().__init__(name=f"heartbeat-{lease.run_id}", daemon=True)
        self._engine = engine
        self._lease = lease
        self._interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            try:
                if not renew(self._engine, self._lease):
                    logger.bind(action="run.fenced", run_id=self._lease.run_id).error(
                        "run {} {}", self._lease.run_id, self._lease.fenced
                    )
                    return
            except Exception as exc:
                logger.bind(action="run.heartbeat").warning(
                    "heartbeat of run {} failed ({:.1f} s since the last one): {}",
                    self._lease.run_id,
                    self._lease.silent_seconds(),
                    exc,
                )

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
