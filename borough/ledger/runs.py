"""The run book: one row per run of a bot, with heartbeats that prove it is alive."""

from __future__ import annotations

import builtins
import json
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, Row, select, update
from sqlalchemy.exc import IntegrityError

from borough.audit.redact import Redactor
from borough.errors import FireRecordedError, LedgerError
from borough.host import host_name
from borough.ledger import lease as leases
from borough.ledger import reaping, txn
from borough.ledger import seats as seat_table
from borough.ledger.lease import RunLease
from borough.ledger.models import RunCounts, RunRecord, RunStatus
from borough.ledger.schema import runs
from borough.ledger.seats import SeatHolder, SeatsBusy, SeatsTaken
from borough.ledger.times import utcnow

__all__ = ["RunBook", "new_run_id", "process_alive", "process_start_marker", "utcnow"]

_PATTERNS_ONLY = Redactor()
T = TypeVar("T")
#: Called inside the transaction that records a run's change; if it raises, nothing changes.
RunAudit = Callable[[RunRecord], object]
Audit = Callable[[], object]
SCHEDULE_TRIGGER = "schedule:"  #: the trigger of the run (or MISSED row) that records a fire


def fire_key(trigger: str, schedule: str | None, fire_time: datetime | None) -> str | None:
    """What makes a fire unique in the ledger: its schedule and fire time (``None`` for
    runs that record no fire: manual runs, run-now, the parts of ``runs: N``)."""
    if schedule is None or fire_time is None or trigger != SCHEDULE_TRIGGER + schedule:
        return None
    return f"{schedule}@{fire_time.astimezone(UTC).isoformat()}"


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and readable: ``20261123-105802-3f9a1c``.

    An id that the redactor would mistake for personal data (``b863ed`` reads as the
    postcode B86 3ED) is drawn again, so run ids survive whole in every log line.
    """
    stamp = f"{(now or utcnow()):%Y%m%d-%H%M%S}"
    while True:
        candidate = f"{stamp}-{secrets.token_hex(3)}"
        if _PATTERNS_ONLY.redact(candidate) == candidate:
            return candidate


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` after the command name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_start_marker(pid: int) -> str | None:
    """The kernel's start time of ``pid``, so a reused pid is not taken for a live run."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def process_alive(pid: int, marker: str | None) -> bool:
    """True while ``pid`` runs (or is stopped); a zombie or a reused pid is not alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _proc_stat(pid)
    if fields is None:
        return marker is None
    if fields[0] in ("Z", "X"):
        return False
    return marker is None or (len(fields) > 19 and fields[19] == marker)


class RunBook:
    """Runs of bots: created (with their licence seats), renewed, ended, reaped."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.host = host_name()

    # -- a run begins -------------------------------------------------------------------
    def create(
        self,
        bot: str,
        bot_version: str,
        *,
        trigger: str = "manual",
        status: RunStatus = RunStatus.RUNNING,
        schedule: str | None = None,
        fire_time: datetime | None = None,
        detail: dict[str, Any] | None = None,
        run_id: str | None = None,
        seats: Mapping[str, int] | None = None,
        counts: RunCounts | None = None,
        error: str | None = None,
        audit: RunAudit | None = None,
    ) -> RunRecord:
        """Record a run; a RUNNING one takes its licence ``seats`` (app -> limit) with it.

        Raises :class:`~borough.ledger.seats.SeatsTaken` (nothing recorded) if a seat is not
        free, :class:`~borough.errors.FireRecordedError` (nothing recorded) if the fire this
        row records (see :func:`fire_key`) is already in the ledger. ``audit`` is called
        with the new record before the transaction commits.
        """
        now = utcnow()
        pid = os.getpid() if status is RunStatus.RUNNING else None
        new_id = run_id or new_run_id(now)
        once = fire_key(trigger, schedule, fire_time)
        values = {
            "id": new_id,
            "bot": bot,
            "bot_version": bot_version,
            "trigger": trigger,
            "schedule": schedule,
            "status": status.value,
            "host": self.host,
            "pid": pid,
            "pid_start": process_start_marker(pid) if pid else None,
            "created_at": now,
            "started_at": now if status is RunStatus.RUNNING else None,
            "ended_at": now if status.finished else None,
            "heartbeat_at": now if status is RunStatus.RUNNING else None,
            "fire_time": fire_time,
            "counts": json.dumps(asdict(counts or RunCounts())),
            "error": error,
            "detail": json.dumps(detail or {}, sort_keys=True, default=str),
            "fire_key": once,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(runs.insert().values(**values))
                if seats and status in (RunStatus.RUNNING, RunStatus.QUEUED):
                    seat_table.take(conn, new_id, self.host, seats)
                if audit is not None:
                    txn.record_in(conn, audit, self._get(conn, new_id))
        except IntegrityError:
            if once is None or not self._fire_recorded(once):
                raise
            raise FireRecordedError(
                f"the fire of schedule {schedule} at {fire_time} is already in the ledger"
            ) from None
        return self.get(new_id)

    def _fire_recorded(self, key: str) -> bool:
        with self._engine.connect() as conn:
            found = conn.execute(select(runs.c.id).where(runs.c.fire_key == key)).first()
        return found is not None

    def start(
        self,
        run_id: str,
        *,
        seats: Mapping[str, int] | None = None,
        audit: RunAudit | None = None,
    ) -> RunRecord:
        """A QUEUED run begins in this process, taking its ``seats`` (if it holds none yet)."""
        now = utcnow()
        pid = os.getpid()
        with self._engine.begin() as conn:
            result = conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status == RunStatus.QUEUED.value)
                .values(
                    status=RunStatus.RUNNING.value,
                    started_at=now,
                    heartbeat_at=now,
                    host=self.host,
                    pid=pid,
                    pid_start=process_start_marker(pid),
                )
            )
            if result.rowcount != 1:
                current = self._get(conn, run_id)
                raise LedgerError(
                    f"run {run_id} is {current.status.value.upper()}, not QUEUED: not started"
                )
            if seats:
                seat_table.take(conn, run_id, self.host, seats)
            if audit is not None:
                txn.record_in(conn, audit, self._get(conn, run_id))
        return self.get(run_id)

    def take_seats(self, run_id: str, seats: Mapping[str, int]) -> SeatsBusy | None:
        """Take a queued run's seats before its process starts; what blocks it, or None."""
        try:
            with self._engine.begin() as conn:
                seat_table.take(conn, run_id, self.host, seats)
        except SeatsTaken as taken:
            return taken.busy
        return None

    def seats_busy(self, run_id: str, seats: Mapping[str, int]) -> SeatsBusy | None:
        """Read only, no lock taken: what would block ``run_id`` from its seats now."""
        with self._engine.connect() as conn:
            return seat_table.first_busy(conn, run_id, seats)

    def release_seats(self, run_id: str) -> None:
        with self._engine.begin() as conn:
            seat_table.release(conn, run_id)

    def seat_holders(self, app: str | None = None) -> tuple[SeatHolder, ...]:
        with self._engine.begin() as conn:
            seat_table.free_stale(conn)
            return seat_table.holders_of(conn, app)

    # -- while it runs ----------------------------------------------------------------------
    def lease(self, run_id: str, *, lease_seconds: float, grace_seconds: float) -> RunLease:
        """This process's lease on ``run_id`` (see :mod:`borough.ledger.lease`)."""
        return RunLease(run_id, lease_seconds, grace_seconds, host=self.host)

    def renew(self, lease: RunLease) -> bool:
        return leases.renew(self._engine, lease)

    def keep(self, lease: RunLease) -> None:
        leases.keep(self._engine, lease)

    def under_lease(self, lease: RunLease, action: Callable[[], T]) -> T:
        return leases.under_lease(self._engine, lease, action)

    def save_counts(self, run_id: str, counts: RunCounts) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status == RunStatus.RUNNING.value)
                .values(counts=json.dumps(asdict(counts)))
            )

    # -- a run ends ---------------------------------------------------------------------------
    def finish(
        self,
        run_id: str,
        status: RunStatus,
        *,
        counts: RunCounts | None = None,
        error: str | None = None,
        audit_seq_end: int | None = None,
        expect: Iterable[RunStatus] | None = None,
        audit: Callable[[], int | None] | None = None,
    ) -> bool:
        """End a run and free its seats; False if it is not in one of the ``expect`` states.

        ``audit`` writes the run's end record inside the transaction and may return the
        audit seq to keep as ``audit_seq_end``; if it raises, the run is left as it was.
        """
        values: dict[str, Any] = {"status": status.value, "ended_at": utcnow(), "error": error}
        if counts is not None:
            values["counts"] = json.dumps(asdict(counts))
        if audit_seq_end is not None:
            values["audit_seq_end"] = audit_seq_end
        where = [runs.c.id == run_id]
        if expect is not None:
            where.append(runs.c.status.in_([s.value for s in expect]))
        with self._engine.begin() as conn:
            result = conn.execute(update(runs).where(*where).values(**values))
            if result.rowcount != 1:
                if expect is None:
                    raise LedgerError(f"no run {run_id!r} in the ledger")
                return False
            if status.finished:
                seat_table.release(conn, run_id)
            seq = txn.record_in(conn, audit) if audit is not None else None
            if seq is not None:
                conn.execute(update(runs).where(runs.c.id == run_id).values(audit_seq_end=seq))
        return True

    def reap(
        self,
        lease_seconds: float,
        *,
        grace_seconds: float = 0.0,
        bot: str | None = None,
        alive: Callable[[int, str | None], bool] = process_alive,
        audit: reaping.ReapAudit | None = None,
        recorded_end: reaping.EndLookup | None = None,
    ) -> builtins.list[reaping.Reaped]:
        """End every RUNNING run that is provably dead (see :mod:`borough.ledger.reaping`)."""
        return reaping.reap(
            self._engine,
            host=self.host,
            lease_seconds=lease_seconds,
            grace_seconds=grace_seconds,
            to_record=_to_run,
            bot=bot,
            alive=alive,
            audit=audit,
            recorded_end=recorded_end,
        )

    def reap_gone(
        self,
        run_id: str,
        why: str,
        *,
        audit: reaping.ReapAudit | None = None,
        recorded_end: reaping.EndLookup | None = None,
    ) -> reaping.Reaped | None:
        """End a RUNNING run whose process is known to be gone (a dispatcher saw it exit)."""
        return reaping.reap_one(
            self._engine, self.get(run_id), why, audit=audit, recorded_end=recorded_end
        )

    # -- reading and small updates ------------------------------------------------------------
    def update_detail(self, run_id: str, *, audit: Audit | None = None, **detail: Any) -> None:
        """Merge ``detail`` into the run's; ``audit`` records it before the commit."""
        with self._engine.begin() as conn:
            current = self._get(conn, run_id).detail
            merged = json.dumps({**current, **detail}, sort_keys=True, default=str)
            conn.execute(update(runs).where(runs.c.id == run_id).values(detail=merged))
            if audit is not None:
                txn.record_in(conn, audit)

    def _update(self, run_id: str, **values: Any) -> None:
        with self._engine.begin() as conn:
            result = conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
        if result.rowcount == 0:
            raise LedgerError(f"no run {run_id!r} in the ledger")

    @staticmethod
    def _get(conn: Any, run_id: str) -> RunRecord:
        return _to_run(conn.execute(select(runs).where(runs.c.id == run_id)).one())

    def get(self, run_id: str) -> RunRecord:
        """One run by id or by a unique prefix of its id."""
        with self._engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
            if row is None:
                rows = conn.execute(
                    select(runs).where(runs.c.id.startswith(run_id, autoescape=True)).limit(2)
                ).all()
                if len(rows) != 1:
                    what = "matches several runs" if rows else "matches no run"
                    raise LedgerError(f"run id {run_id!r} {what}; see `borough runs list`")
                row = rows[0]
        return _to_run(row)

    def list(
        self,
        *,
        bot: str | None = None,
        statuses: Iterable[RunStatus] | None = None,
        since: datetime | None = None,
        schedule: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[RunRecord]:
        query = (
            select(runs)
            .order_by(runs.c.created_at.desc(), runs.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        if bot:
            query = query.where(runs.c.bot == bot)
        if statuses is not None:
            query = query.where(runs.c.status.in_([s.value for s in statuses]))
        if since is not None:
            query = query.where(runs.c.created_at >= since)
        if schedule is not None:
            query = query.where(runs.c.schedule == schedule)
        with self._engine.connect() as conn:
            return [_to_run(row) for row in conn.execute(query)]


def _to_run(row: Row[Any]) -> RunRecord:
    return RunRecord(
        id=row.id,
        bot=row.bot,
        bot_version=row.bot_version,
        trigger=row.trigger,
        status=RunStatus(row.status),
        host=row.host,
        pid=row.pid,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        heartbeat_at=row.heartbeat_at,
        schedule=row.schedule,
        fire_time=row.fire_time,
        counts=RunCounts(**json.loads(row.counts or "{}")),
        error=row.error,
        audit_seq_end=row.audit_seq_end,
        detail=json.loads(row.detail or "{}"),
    )
