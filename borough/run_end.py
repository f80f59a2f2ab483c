"""How a run ends: ``run.end`` written once, the outcome committed, a fenced run kept FAILED.

Kept apart from :mod:`borough.runner` (set-up and the run's course) and
:mod:`borough.run_work` (the item loop) so each stays one job. :class:`RunEnd` is the ending
half of the runner's ``_Run``; it also records a run the trail could not be written for
(started or ended unaudited) so ``borough ledger reconcile`` can complete it later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loguru import logger
from sqlalchemy.exc import DBAPIError

from borough.audit.trail import AuditTrail, operator_actor
from borough.bot import Bot
from borough.errors import LeaseLostError, LedgerUnreachableError
from borough.item_worker import RunCancelled
from borough.ledger import RunCounts, RunRecord, RunStatus
from borough.ledger.lease import RunLease
from borough.run_outage import LedgerOutages
from borough.runtime import Runtime

if TYPE_CHECKING:
    from borough.runner import RunRequest


class RunEnd:
    """The end of a run (a base of ``borough.runner._Run``, which sets these)."""

    runtime: Runtime
    bot_cls: type[Bot[Any]]
    request: RunRequest
    apps: tuple[str, ...]
    counts: RunCounts
    run_id: str
    trail: AuditTrail
    lease: RunLease
    outages: LedgerOutages
    _end_seq: int | None
    _fence_recorded: bool

    def unaudited_start(self, audit_error: str) -> RunRecord:
        """The trail cannot be written: the run is recorded FAILED with the reason and does
        nothing (``borough ledger reconcile`` writes its missing end once there is room)."""
        error = self.runtime.redactor.redact(audit_error)
        logger.bind(action="run.unaudited", run_id=self.run_id).error("{}", error)
        runs = self.runtime.ledger.runs
        if self.request.run_id:
            runs.finish(self.run_id, RunStatus.FAILED, error=error, expect=(RunStatus.QUEUED,))
        else:
            runs.create(
                self.bot_cls.name,
                self.bot_cls.version,
                trigger=self.request.trigger,
                status=RunStatus.FAILED,
                run_id=self.run_id,
                detail={"apps": list(self.apps), "started_by": operator_actor()},
                error=error,
            )
        return runs.get(self.run_id)

    def _unaudited_end(self, audit_error: str) -> RunRecord:
        """The trail cannot be written: the run is FAILED in the ledger with the reason, its
        end left unrecorded (``borough ledger reconcile`` writes it once there is room)."""
        error = self.runtime.redactor.redact(audit_error)
        logger.bind(action="run.unaudited", run_id=self.run_id).error("{}", error)
        self.runtime.ledger.runs.finish(
            self.run_id,
            RunStatus.FAILED,
            counts=self.counts,
            error=error,
            expect=(RunStatus.RUNNING, RunStatus.CRASHED),
        )
        return self.runtime.ledger.runs.get(self.run_id)

    def _end(self, status: RunStatus, error: str | None) -> RunRecord:
        """Record the run's end, pausing while the ledger's database is away.

        ``run.end`` is written to the trail once: if the database went away after it was
        written but before the ledger committed it, the retry commits the same record.
        Taken over meanwhile (fenced) with its end in the trail, the run stops there: the
        reaper ended it as that record says. Stopped (a signal) while the database is
        still away, it gives up with :class:`LedgerUnreachableError` (exit code 3).
        """
        while True:
            try:
                return self._end_once(status, error)
            except DBAPIError as exc:
                if self.runtime.ledger.reachable():
                    raise
                try:
                    self.outages.pause(exc, stage="the run's end", note=self._end_seq is None)
                except LeaseLostError:
                    if self._end_seq is not None:
                        return self.runtime.ledger.runs.get(self.run_id)
                    error = self._fenced_error()  # the next pass takes the fenced path
                except (RunCancelled, KeyboardInterrupt):
                    raise LedgerUnreachableError(
                        f"run {self.run_id} was stopped while the ledger's database was "
                        f"unreachable; its end ({status.value}) is not recorded in the ledger: "
                        f"the next run of {self.bot_cls.name} or the scheduler ends it once "
                        "the database answers, and its items are checked in the target first"
                    ) from None

    def _end_once(self, status: RunStatus, error: str | None) -> RunRecord:
        """Write ``run.end`` and its checkpoint, then commit the outcome (never SUCCEEDED
        for a fenced run: one whose lease was lost keeps FAILED, whatever it got done)."""
        runs = self.runtime.ledger.runs
        if self.lease.fenced is None:
            ended = runs.finish(
                self.run_id,
                status,
                counts=self.counts,
                error=error,
                expect=(RunStatus.RUNNING,),
                audit=lambda: self._record_end(status, error),
            )
            if ended or self._end_seq is not None:  # ended by a reaper as its run.end says
                return runs.get(self.run_id)
            self.lease.fence(self.lease.taken_over(runs.get(self.run_id).status.value.upper()))
            error = self._fenced_error()
        status = RunStatus.FAILED
        if not self._fence_recorded:
            self.trail.emit(
                "run.fenced",
                outcome="fenced",
                error=error,
                detail={
                    "silent_seconds": round(self.lease.fenced_silent, 3),
                    "lease_seconds": self.lease.lease_seconds,
                    "grace_seconds": self.lease.grace_seconds,
                },
            )
            logger.bind(action="run.fenced", run_id=self.run_id).error("{}", error)
            self._fence_recorded = True
        runs.finish(
            self.run_id,
            status,
            counts=self.counts,
            error=error,
            expect=(RunStatus.RUNNING, RunStatus.CRASHED),
            audit=lambda: self._record_end(status, error),
        )
        return runs.get(self.run_id)

    def _record_end(self, status: RunStatus, error: str | None) -> int:
        if self._end_seq is None:
            self.trail.emit(
                "run.end",
                outcome=status.value,
                error=error,
                detail={"counts": self.counts.__dict__},
            )
            self._end_seq = self.trail.checkpoint("run end")
        return self._end_seq

    def _fenced_error(self) -> str:
        return (
            f"fenced: {self.lease.fenced}. Its items are safe: another run checks each one "
            "in the target before doing anything with it"
        )
