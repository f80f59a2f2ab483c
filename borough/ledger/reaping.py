"""Reaping: a RUNNING run that is provably dead is ended, its seats freed, in one transaction.

Provably dead means: it ran on this host and its process (pid + kernel start time) is
gone, or it ran on another host and has not renewed its lease for ``lease_seconds +
grace_seconds``. An alive process of this host is never reaped, however long it is silent
(a paused process wakes up and goes on; nobody else has touched its items).
The reap is a conditional ``UPDATE`` (still RUNNING, still stale), so it serialises with
the holder's renewal: exactly one of them wins. A run whose ``run.end`` record is already
in the audit trail (killed between writing it and committing) finishes with the outcome,
counts and audit seq it recorded, not CRASHED.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, or_, select, update

from borough.ledger import seats, txn
from borough.ledger.models import RunCounts, RunRecord, RunStatus
from borough.ledger.schema import runs
from borough.ledger.times import utcnow

Alive = Callable[[int, str | None], bool]


@dataclass(frozen=True)
class RecordedEnd:
    """What a run's ``run.end`` record (and the checkpoint after it) says."""

    status: RunStatus
    counts: RunCounts
    error: str | None
    seq: int  #: the last audit record of the run (its run-end checkpoint, if written)
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Reaped:
    """One reaped run: how it was ended and why."""

    run: RunRecord
    status: RunStatus
    why: str
    recorded: RecordedEnd | None = None


ReapAudit = Callable[[Reaped], object]
EndLookup = Callable[[RunRecord], RecordedEnd | None]


def dead_reason(
    run: RunRecord,
    marker: str | None,
    *,
    host: str,
    now: datetime,
    lease_seconds: float,
    grace_seconds: float,
    alive: Alive,
) -> str | None:
    """Why ``run`` is provably dead, or None if it may be alive."""
    if run.host == host and run.pid:
        return None if alive(run.pid, marker) else "its process ended without finishing"
    limit = lease_seconds + grace_seconds
    if run.heartbeat_at is None:
        return f"it never renewed its lease (host {run.host})"
    silent = (now - run.heartbeat_at).total_seconds()
    if silent <= limit:
        return None
    return (
        f"no heartbeat for {silent:.0f} s from host {run.host} "
        f"(lease {lease_seconds:g} s + grace {grace_seconds:g} s)"
    )


def reap_one(
    engine: Engine,
    run: RunRecord,
    why: str,
    *,
    stale_before: datetime | None = None,
    audit: ReapAudit | None = None,
    recorded_end: EndLookup | None = None,
) -> Reaped | None:
    """End ``run`` if it is still RUNNING (and, with ``stale_before``, still silent).

    Returns None if the run ended or renewed its lease meanwhile. ``audit`` runs inside the
    transaction: if it fails, nothing changes.
    """
    recorded = recorded_end(run) if recorded_end is not None else None
    now = utcnow()
    conditions: list[ColumnElement[bool]] = [
        runs.c.id == run.id,
        runs.c.status == RunStatus.RUNNING.value,
    ]
    if stale_before is not None:
        conditions.append(or_(runs.c.heartbeat_at.is_(None), runs.c.heartbeat_at < stale_before))
    values: dict[str, Any]
    if recorded is not None:
        values = {
            "status": recorded.status.value,
            "counts": json.dumps(asdict(recorded.counts)),
            "error": recorded.error,
            "audit_seq_end": recorded.seq,
            "ended_at": recorded.ended_at or now,
        }
        status = recorded.status
    else:
        values = {"status": RunStatus.CRASHED.value, "ended_at": now, "error": why}
        status = RunStatus.CRASHED
    with engine.begin() as conn:
        result = conn.execute(update(runs).where(*conditions).values(**values))
        if result.rowcount != 1:
            return None
        seats.release(conn, run.id)
        reaped = Reaped(run, status, why, recorded)
        if audit is not None:
            txn.record_in(conn, audit, reaped)
    return reaped


def reap(
    engine: Engine,
    *,
    host: str,
    lease_seconds: float,
    grace_seconds: float,
    to_record: Callable[[Any], RunRecord],
    bot: str | None = None,
    alive: Alive,
    audit: ReapAudit | None = None,
    recorded_end: EndLookup | None = None,
) -> list[Reaped]:
    """Reap every provably dead RUNNING run (of ``bot``, or of all bots)."""
    now = utcnow()
    query = select(runs).where(runs.c.status == RunStatus.RUNNING.value)
    if bot:
        query = query.where(runs.c.bot == bot)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    stale_before = now - timedelta(seconds=lease_seconds + grace_seconds)
    reaped: list[Reaped] = []
    for row in rows:
        run = to_record(row)
        why = dead_reason(
            run,
            row.pid_start,
            host=host,
            now=now,
            lease_seconds=lease_seconds,
            grace_seconds=grace_seconds,
            alive=alive,
        )
        if why is None:
            continue
        local = run.host == host and bool(run.pid)
        done = reap_one(
            engine,
            run,
            why,
            stale_before=None if local else stale_before,
            audit=audit,
            recorded_end=recorded_end,
        )
        if done is not None:
            reaped.append(done)
    return reaped
