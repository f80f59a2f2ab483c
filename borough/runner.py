"""One run of one bot: take seats, recover, ingest, work every item, record the outcome.

The order is what makes runs safe to kill (or pause) at any moment: the run takes its
licence seats with its run row, dead runs are reaped, every input row is recorded before
any is worked, orphaned in-flight items are checked in the target before anything else,
each item's intent is durable before the change, and the run proves its lease before
every claim and intent (a run that cannot is *fenced*: it stops, FAILED, see
:mod:`borough.ledger.lease`). Every change is written to the audit trail before the ledger
commits it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from loguru import logger
from sqlalchemy.exc import DBAPIError

from borough.audit.trail import operator_actor
from borough.batches import ItemRules, SaveBatch, item_rules
from borough.bot import Bot
from borough.config.models import BotConfig, RetryPolicy
from borough.context import RunContext
from borough.drift.preflight import preflight
from borough.dryrun import dry_run
from borough.errors import (
    AuditError,
    BoroughError,
    LeaseLostError,
    LedgerUnreachableError,
    RunFencedError,
)
from borough.ingest import ingest_items
from borough.item_batch import BatchWorker
from borough.item_worker import ItemWorker, RunCancelled, describe_error
from borough.ledger import Claim, ItemRecord, ItemState, RunCounts, RunRecord, RunStatus
from borough.ledger.lease import Heartbeat, RunLease, boot_clock
from borough.ledger.runs import new_run_id, utcnow
from borough.observe import RunObserver
from borough.processes import OwnedProcess
from borough.reaper import reap_dead_runs
from borough.registry import bot_settings, load_bot
from borough.run_outage import LedgerOutages
from borough.run_setup import fingerprints, resolve_inputs
from borough.runtime import Runtime
from borough.seats import seat_limits, take_or_wait

MAX_WAIT_SLICE = 5.0
SIBLING_POLL = 0.5  #: seconds between looks at other runs of the bot still holding items
#: seconds between looks for orphaned items while there is work to claim (and whenever
#: there is none); the counts on the run row are saved as often (and at the end)
ORPHAN_POLL = 1.0


@dataclass
class RunRequest:
    """What to run and why (CLI flags, a schedule's fire, the demo)."""

    bot: str
    inputs: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = False
    trigger: str = "manual"
    schedule: str | None = None
    fire_time: datetime | None = None
    run_id: str | None = None  # a QUEUED run recorded by the scheduler
    limit: int | None = None  # stop after working this many items
    wait_for_seats: bool = True  # False: fail at once if a licence seat is taken


def run_bot(
    runtime: Runtime, request: RunRequest, observer: RunObserver | None = None
) -> RunRecord:
    """Run ``request.bot`` to the end and return its run record (never raises for items).

    Raises :class:`~borough.errors.SeatUnavailableError` (nothing recorded) if a licence
    seat is taken and ``request.wait_for_seats`` is False.
    """
    observer = observer or RunObserver()
    bot_cls = load_bot(request.bot, runtime.config)
    bot_config = runtime.config.bot_config(request.bot)
    policy = (bot_config.retry if bot_config and bot_config.retry else None) or bot_cls.retry
    inputs = resolve_inputs(runtime, bot_config, request.inputs)
    settings = bot_settings(runtime.config, bot_cls, bot_config)
    rules = item_rules(bot_cls, bot_config)
    if request.dry_run:
        return dry_run(
            runtime,
            bot_cls,
            trigger=request.trigger,
            inputs=inputs,
            settings=settings,
            observer=observer,
        )
    run = _Run(
        runtime=runtime,
        bot_cls=bot_cls,
        bot_config=bot_config,
        policy=policy,
        request=request,
        inputs=inputs,
        settings=settings,
        observer=observer,
        rules=rules,
    )
    try:
        run.begin()
    except AuditError as exc:  # not even run.start could be written: no work at all
        return run.unaudited_start(str(exc))
    return run.execute()


class _Run:
    def __init__(
        self,
        *,
        runtime: Runtime,
        bot_cls: type[Bot[Any]],
        bot_config: BotConfig | None,
        policy: RetryPolicy,
        request: RunRequest,
        inputs: dict[str, Path],
        settings: Any,
        observer: RunObserver,
        rules: ItemRules,
    ) -> None:
        self.runtime = runtime
        self.rules = rules
        self.bot_cls = bot_cls
        self.bot_config = bot_config
        self.policy = policy
        self.request = request
        self.observer = observer
        self.counts = RunCounts()
        self.ledger_settings = runtime.config.settings.ledger
        self.apps = tuple(bot_config.apps) if bot_config else ()
        self.run_id = request.run_id or new_run_id()
        self.trail = runtime.trail.bind(
            run_id=self.run_id,
            bot=bot_cls.name,
            bot_version=bot_cls.version,
            actor=f"bot:{bot_cls.name}",
        )
        self.lease: RunLease = runtime.ledger.runs.lease(
            self.run_id,
            lease_seconds=self.ledger_settings.lease_seconds,
            grace_seconds=self.ledger_settings.adopt_grace_seconds,
        )
        self.ctx = RunContext(
            runtime=runtime,
            run_id=self.run_id,
            bot_name=bot_cls.name,
            trail=self.trail,
            inputs=inputs,
            settings=settings,
            apps_allowed=self.apps,
            lease_check=self.check_lease,
        )
        self.outages = LedgerOutages(runtime.ledger, self.lease, self.trail, self.run_id)
        self._end_seq: int | None = None  # run.end is in the trail (even if not committed)
        self._fence_recorded = False
        self._counts_saved = -ORPHAN_POLL

    def check_lease(self) -> None:
        """Cheap unless the heartbeat fell behind; raises RunFencedError once fenced."""
        self.runtime.ledger.runs.keep(self.lease)

    # -- begin ------------------------------------------------------------------------------
    def begin(self) -> None:
        """Record the run with its licence seats (waiting for them) and its ``run.start``."""
        runs = self.runtime.ledger.runs
        limits = seat_limits(self.runtime.config, self.apps)
        detail = {"trigger": self.request.trigger, "inputs": fingerprints(self.ctx.inputs)}

        def started(_: RunRecord) -> None:
            self.trail.emit("run.start", detail=detail)

        def attempt() -> RunRecord:
            self.lease.renewed_mark = boot_clock()  # the row's heartbeat is written now
            if self.request.run_id:
                return runs.start(self.run_id, seats=limits, audit=started)
            return runs.create(
                self.bot_cls.name,
                self.bot_cls.version,
                trigger=self.request.trigger,
                schedule=self.request.schedule,
                fire_time=self.request.fire_time,
                run_id=self.run_id,
                detail={"apps": list(self.apps), "started_by": operator_actor()},
                seats=limits,
                audit=started,
            )

        def free_dead() -> None:
            if limits:
                reap_dead_runs(runs, self.trail, self.ledger_settings, by=self.run_id)

        take_or_wait(
            attempt,
            free_dead=free_dead,
            peek=lambda: runs.seats_busy(self.run_id, limits) if limits else None,
            wait=self.request.wait_for_seats,
            on_wait=self.observer.on_seat_wait,
        )

    # -- execute ----------------------------------------------------------------------------
    def execute(self) -> RunRecord:
        runtime, run_id = self.runtime, self.run_id
        self.observer.on_run_started(run_id, self.bot_cls.name)
        heartbeat = Heartbeat(
            runtime.ledger.engine, self.lease, self.ledger_settings.heartbeat_seconds
        )
        heartbeat.start()
        status, error = RunStatus.FAILED, None
        bot = self.bot_cls()
        try:
            reap_dead_runs(
                runtime.ledger.runs,
                self.trail,
                self.ledger_settings,
                by=run_id,
                bot=self.bot_cls.name,
            )
            self._stop_orphaned_processes()
            # a drifted app stops the run here, before any item is recorded or claimed
            preflight(self.ctx, self.bot_config, self.request.trigger, self.request.schedule)
            self._ingest_through_outages(bot)
            self.observer.on_work_started(
                runtime.ledger.items.count_by_state(bot=self.bot_cls.name).get(ItemState.PENDING, 0)
            )
            bot.setup(self.ctx)
            worker = (BatchWorker if self.rules.batch > 1 else ItemWorker)(
                runtime,
                bot,
                self.ctx,
                self.trail,
                self.policy,
                self.counts,
                self.observer,
                self.lease,
                check_first=self.rules.check_first,
            )
            if self.rules.save_every:
                worker.batch = SaveBatch(
                    self.rules.save_every,
                    bot,
                    self.ctx,
                    self.trail,
                    done=worker.batch_done,
                    settle=worker.batch_failed,
                    park=worker.batch_parked,
                )
            self.outages.through(lambda: self._work(worker), stage="work")
            problems = self.counts.failed + self.counts.needs_review
            status = RunStatus.COMPLETED_WITH_FAILURES if problems else RunStatus.SUCCEEDED
        except (RunCancelled, KeyboardInterrupt):
            status, error = RunStatus.CANCELLED, "stopped by a signal before finishing"
        except LeaseLostError as exc:
            self.lease.fence(str(exc))
            error = self._fenced_error()
        except BoroughError as exc:
            error = str(exc)
        except Exception as exc:
            logger.opt(exception=exc).bind(action="run.error").error("run failed")
            error = describe_error(exc)
        finally:
            self._close(bot)
            heartbeat.stop()
        error = runtime.redactor.redact(error) if error else None
        try:
            return self._end(status, error)
        except AuditError as exc:
            return self._unaudited_end(str(exc))

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

    def _ingest_through_outages(self, bot: Bot[Any]) -> None:
        """Ingest; after an outage read the input again from the top (the rows recorded
        before it are known and skipped, so each is recorded, and counted, once)."""
        already_done = self.counts.already_done

        def attempt() -> None:
            self.counts.already_done = already_done
            ingest_items(
                self.runtime,
                self.bot_cls,
                bot.items(self.ctx),
                run_id=self.run_id,
                trail=self.trail,
                counts=self.counts,
                observer=self.observer,
            )

        self.outages.through(attempt, stage="ingest")

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

    def _work(self, worker: ItemWorker) -> None:
        """Work every due item; a batch still held by the app is saved before the run
        waits or ends, and parked for the next run's check if the run stops mid-way."""
        batch = worker.batch
        try:
            self._work_items(worker)
            if batch is not None:
                batch.save()
        except (LeaseLostError, AuditError):
            raise  # nothing more may be written for this run's items
        except BaseException:
            if batch is not None:
                batch.abandon()
            raise

    def _work_items(self, worker: ItemWorker) -> None:
        items = self.runtime.ledger.items
        runs = self.runtime.ledger.runs
        name, run_id = self.bot_cls.name, self.run_id
        worked = 0
        looked = -ORPHAN_POLL  # look for orphans first, then every ORPHAN_POLL seconds
        while self.request.limit is None or worked < self.request.limit:
            runs.keep(self.lease)
            orphans: list[Claim] = []
            if time.monotonic() - looked >= ORPHAN_POLL:
                orphans = items.adopt_orphans(
                    name,
                    run_id,
                    audit=self._record_adoption,
                    keep=worker.batch.held if worker.batch is not None else (),
                )
                looked = time.monotonic()
            for claim in orphans:
                self._work_one(worker, claim)
            claims = runs.under_lease(self.lease, partial(self._claim, self._batch_size(worked)))
            if claims:
                self._work_claims(worker, claims)
                worked += len(claims)
                if worker.batch is not None and worker.batch.full:
                    worker.batch.save()
                continue
            self._save_counts()
            if orphans or looked < time.monotonic() - ORPHAN_POLL / 2:
                looked = -ORPHAN_POLL  # nothing to claim: look for orphans now
                continue
            if worker.batch is not None:
                worker.batch.save()  # before waiting (or ending): nothing held unsaved
            due = items.next_due(name)
            if due is None:
                if not self._siblings_to_wait_for():
                    return
                self.observer.on_wait(SIBLING_POLL)
                time.sleep(SIBLING_POLL)
                continue
            wait = min(max((due - utcnow()).total_seconds(), 0.05), MAX_WAIT_SLICE)
            self.observer.on_wait(wait)
            time.sleep(wait)

    def _stop_orphaned_processes(self) -> None:
        """Apps (and displays) a killed run started are stopped before this run opens its
        own: no second copy on the same files, nothing unsaved carried over."""

        def stopped(record: OwnedProcess, how: str) -> None:
            self.trail.emit(
                "app.orphan_stopped",
                outcome=how,
                detail={"what": record.what, "pid": record.pid, "from_run": record.run_id},
            )

        self.ctx.process_book.stop_orphans(stopped)

    def _siblings_to_wait_for(self) -> list[str]:
        """Other runs of this bot holding items this run may yet have to adopt.

        Several runs work one bot's items at once (``runs: N``, or a manual run beside a
        scheduled one). Nothing left to claim, this run still stays while another holds
        items and will either finish them (alive and renewing) or be reaped (its process
        gone, or another host silent past lease + grace): then its items are adopted here,
        not left CLAIMED or IN_FLIGHT until the bot's next run. A run of this host that is
        alive but silent (paused) is never reaped, so it is not waited for.
        """
        runs = self.runtime.ledger.runs
        reap_dead_runs(
            runs, self.trail, self.ledger_settings, by=self.run_id, bot=self.bot_cls.name
        )
        waiting = []
        for run_id in self.runtime.ledger.items.holders(self.bot_cls.name, besides=self.run_id):
            other = runs.get(run_id)
            if other.status is not RunStatus.RUNNING:
                waiting.append(run_id)  # ended: its items are adopted on the next pass
                continue
            silent = (utcnow() - (other.heartbeat_at or other.created_at)).total_seconds()
            paused_here = other.host == runs.host and silent > self.ledger_settings.lease_seconds
            if not paused_here:
                waiting.append(run_id)
        return waiting

    def _record_adoption(self, item: ItemRecord, claim: Claim | None) -> None:
        decision = (
            "checking the target before anything else"
            if claim is not None
            else "never sent to the target: back to PENDING"
        )
        self.trail.emit(
            "item.adopted" if claim is not None else "item.released",
            outcome=item.state.value if claim is not None else ItemState.PENDING.value,
            item=item.key_token,
            attempt=item.attempt,
            data_categories=item.data_categories,
            subjects=item.subjects,
            detail={"from_run": item.owner_run, "decision": decision, "ledger_id": item.id},
        )

    def _batch_size(self, worked: int) -> int:
        if self.request.limit is None:
            return self.rules.batch
        return min(self.rules.batch, self.request.limit - worked)

    def _claim(self, count: int) -> list[Claim]:
        items = self.runtime.ledger.items
        return items.claim_many(self.bot_cls.name, self.run_id, count, lease=self.lease)

    def _work_claims(self, worker: ItemWorker, claims: list[Claim]) -> None:
        if len(claims) == 1 or not isinstance(worker, BatchWorker):
            for claim in claims:
                self._work_one(worker, claim)
            return
        try:
            worker.work_batch(claims)
        except RunFencedError:
            raise
        except LeaseLostError as exc:
            self.lease.fence(f"it lost its hold on an item of its batch ({exc})")
            raise self.lease.error() from exc
        finally:
            self._save_counts(due=True)

    def _work_one(self, worker: ItemWorker, claim: Claim) -> None:
        try:
            worker.work(claim)
        except RunFencedError:
            raise
        except LeaseLostError as exc:
            worker.record_lease_lost(claim, exc)
            self.lease.fence(f"it lost its hold on item {claim.item_id} ({exc})")
            raise self.lease.error() from exc
        finally:
            self.ctx.item = None
            self._save_counts(due=True)

    def _save_counts(self, *, due: bool = False) -> None:
        """The counts on the run row (progress for people): at most every ORPHAN_POLL s
        while items are worked (``due``), and whenever the run runs out of work."""
        now = time.monotonic()
        if due and now - self._counts_saved < ORPHAN_POLL:
            return
        self.runtime.ledger.runs.save_counts(self.run_id, self.counts)
        self._counts_saved = now

    def _close(self, bot: Bot[Any]) -> None:
        try:
            bot.teardown(self.ctx)
        except Exception as exc:
            logger.bind(action="run.teardown").warning("teardown failed: {}", exc)
        self.ctx.close()
