"""The run book: one row per run of a bot, with heartbeats that prove it is alive."""

from __future__ import annotations

import builtins
import json
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, select, update

from borough.audit.redact import Redactor
from borough.errors import LedgerError
from borough.host import host_name
from borough.ledger.models import RunCounts, RunRecord, RunStatus
from borough.ledger.schema import runs

_PATTERNS_ONLY = Redactor()


def utcnow() -> datetime:
    return datetime.now(UTC)


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


def process_start_marker(pid: int) -> str | None:
    """The kernel's start time of ``pid``, so a reused pid is not taken for a live run."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_alive(pid: int, marker: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return marker is None or process_start_marker(pid) == marker


class RunBook:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.host = host_name()

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
    ) -> RunRecord:
        now = utcnow()
        pid = os.getpid() if status is RunStatus.RUNNING else None
        new_id = run_id or new_run_id(now)
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
            "counts": json.dumps(asdict(RunCounts())),
            "detail": json.dumps(detail or {}, sort_keys=True, default=str),
        }
        with self._engine.begin() as conn:
            conn.execute(runs.insert().values(**values))
        return self.get(new_id)

    def start(self, run_id: str) -> None:
        """A queued run begins in this process."""
        now = utcnow()
        pid = os.getpid()
        self._update(
            run_id,
            status=RunStatus.RUNNING.value,
            started_at=now,
            heartbeat_at=now,
            host=self.host,
            pid=pid,
            pid_start=process_start_marker(pid),
        )

    def heartbeat(self, run_id: str) -> None:
        self._update(run_id, heartbeat_at=utcnow())

    def save_counts(self, run_id: str, counts: RunCounts) -> None:
        self._update(run_id, counts=json.dumps(asdict(counts)))

    def finish(
        self,
        run_id: str,
        status: RunStatus,
        *,
        counts: RunCounts | None = None,
        error: str | None = None,
        audit_seq_end: int | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "ended_at": utcnow(), "error": error}
        if counts is not None:
            values["counts"] = json.dumps(asdict(counts))
        if audit_seq_end is not None:
            values["audit_seq_end"] = audit_seq_end
        self._update(run_id, **values)

    def update_detail(self, run_id: str, **detail: Any) -> None:
        current = self.get(run_id).detail
        self._update(run_id, detail=json.dumps({**current, **detail}, sort_keys=True, default=str))

    def _update(self, run_id: str, **values: Any) -> None:
        with self._engine.begin() as conn:
            result = conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
        if result.rowcount == 0:
            raise LedgerError(f"no run {run_id!r} in the ledger")

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
    ) -> list[RunRecord]:
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

    def reap(
        self,
        lease_seconds: float,
        *,
        bot: str | None = None,
        alive: Callable[[int, str | None], bool] = process_alive,
    ) -> builtins.list[str]:
        """Mark CRASHED every RUNNING run that is provably dead; returns their ids.

        Dead means: its heartbeat is older than the lease, or it ran on this host and its
        process is gone.
        """
        now = utcnow()
        stale_before = now - timedelta(seconds=lease_seconds)
        query = select(runs).where(runs.c.status == RunStatus.RUNNING.value)
        if bot:
            query = query.where(runs.c.bot == bot)
        dead: builtins.list[str] = []
        with self._engine.begin() as conn:
            for row in conn.execute(query).all():
                local_dead = row.host == self.host and row.pid and not alive(row.pid, row.pid_start)
                stale = row.heartbeat_at is None or row.heartbeat_at < stale_before
                if local_dead or stale:
                    why = "process ended without finishing" if local_dead else "heartbeat stopped"
                    conn.execute(
                        update(runs)
                        .where(runs.c.id == row.id, runs.c.status == RunStatus.RUNNING.value)
                        .values(status=RunStatus.CRASHED.value, ended_at=now, error=why)
                    )
                    dead.append(row.id)
        return dead

    def live_run_ids(self) -> set[str]:
        with self._engine.connect() as conn:
            query = select(runs.c.id).where(runs.c.status == RunStatus.RUNNING.value)
            return set(conn.execute(query).scalars())


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
