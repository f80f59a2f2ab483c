"""Reaping dead runs, each with its audit record written before the ledger changes.

Used by runs (before they take seats and before they work), the scheduler's loop, its
dispatchers when a run's process exits, and ``borough ledger reconcile``. A dead run whose
``run.end`` is already the last thing it wrote to the trail (killed between writing it and
committing it) finishes with what it recorded; any other dead run becomes CRASHED.
"""

from __future__ import annotations

from dataclasses import fields
from functools import partial

from borough.audit import lookup
from borough.audit.trail import AuditTrail
from borough.config.models import LedgerSettings
from borough.ledger import RunBook, RunCounts, RunRecord, RunStatus
from borough.ledger.reaping import Reaped, RecordedEnd

__all__ = ["Reaped", "reap_dead_runs", "recorded_end", "settle_gone_run"]


def reap_dead_runs(
    runs: RunBook,
    trail: AuditTrail,
    settings: LedgerSettings,
    *,
    by: str,
    bot: str | None = None,
) -> list[Reaped]:
    """End every provably dead RUNNING run (of ``bot``, or all); ``by`` names the reaper."""
    return runs.reap(
        settings.lease_seconds,
        grace_seconds=settings.adopt_grace_seconds,
        bot=bot,
        audit=partial(_record, trail, by),
        recorded_end=partial(recorded_end, trail),
    )


def settle_gone_run(
    runs: RunBook, trail: AuditTrail, run_id: str, why: str, *, by: str
) -> Reaped | None:
    """End a RUNNING run whose process is known to have exited (None if it ended itself)."""
    return runs.reap_gone(
        run_id, why, audit=partial(_record, trail, by), recorded_end=partial(recorded_end, trail)
    )


def recorded_end(trail: AuditTrail, run: RunRecord) -> RecordedEnd | None:
    """What ``run`` recorded as its end in ``trail``, if that was the last thing it wrote."""
    found = lookup.find_run_end(trail.sink.path, run.id, since=run.started_at or run.created_at)
    if found is None:
        return None
    try:
        status = RunStatus(found.outcome)
    except ValueError:
        return None
    if not status.finished:
        return None
    known = {f.name for f in fields(RunCounts)}
    counts = RunCounts(**{k: v for k, v in found.counts.items() if k in known})
    return RecordedEnd(status, counts, found.error, found.seq, found.ts)


def _record(trail: AuditTrail, by: str, reaped: Reaped) -> None:
    run = reaped.run
    bound = trail.bind(run_id=run.id, bot=run.bot, bot_version=run.bot_version)
    detail: dict[str, object] = {"reaped_by": by, "host": run.host, "pid": run.pid}
    if reaped.recorded is not None:
        detail.update(
            finished_as_recorded=True,
            run_end_seq=reaped.recorded.seq,
            reason=f"{reaped.why}, after recording run.end",
        )
        bound.emit(
            "run.reaped",
            outcome=reaped.status.value,
            error=reaped.recorded.error,
            detail=detail,
        )
        return
    bound.emit("run.reaped", outcome=RunStatus.CRASHED.value, error=reaped.why, detail=detail)
