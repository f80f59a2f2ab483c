"""One run of one bot: take seats, recover, ingest, work every item, record the outcome.

The order is what makes runs safe to kill (or pause) at any moment: the run takes its
licence seats with its run row, dead runs are reaped, every input row is recorded before
any is worked, orphaned in-flight items are checked in the target before anything else,
each item's intent is durable before the change, and the run proves its lease before
every claim and intent (a run that cannot is *fenced*: it stops, FAILED, see
:mod:`borough.ledger.lease`). Every change is written to the audit trail before the ledger
commits it.

This module takes the seats, sets the run up and drives its course; the item loop (claim,
adopt orphans, work, wait for sibling runs) is in :mod:`borough.run_work`, the run's end
(``run.end`` once, fencing, an unaudited start or end) in :mod:`borough.run_end`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger

from borough.audit.trail import operator_actor
from borough.batches import ItemRules, SaveBatch, item_rules
from borough.bot import Bot
from borough.collector import quiet_collector
from borough.config.models import BotConfig, RetryPolicy
from borough.context import RunContext
from borough.drift.preflight import preflight
from borough.dryrun import dry_run
from borough.errors import (
    AuditError,
    BoroughError,
    LeaseLostError,
)
from borough.ingest import ingest_items
from borough.item_batch import BatchWorker
from borough.item_worker import ItemWorker, RunCancelled, describe_error
from borough.ledger import ItemState, RunCounts, RunRecord, RunStatus
from borough.ledger.lease import Heartbeat, RunLease, boot_clock
from borough.ledger.runs import new_run_id
from borough.observe import RunObserver
from borough.processes import OwnedProcess
from borough.reaper import reap_dead_runs
from borough.registry import bot_settings, load_bot
from borough.run_end import RunEnd
from borough.run_outage import LedgerOutages
from borough.run_setup import fingerprints, resolve_inputs
from borough.run_work import ORPHAN_POLL, Cadence, ItemLoop
from borough.runtime import Runtime
from borough.seats import seat_limits, take_or_wait


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
    with quiet_collector():
        try:
            run.begin()
        except AuditError as exc:  # not even run.start could be written: no work at all
            return run.unaudited_start(str(exc))
        return run.execute()


class _Run(ItemLoop, RunEnd):
    """One run's set-up and course; its item loop is :class:`~borough.run_work.ItemLoop`,
    its end (fenced or not) :class:`~borough.run_end.RunEnd`."""

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
        self._counts_saving = Cadence(ORPHAN_POLL)

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

    def _close(self, bot: Bot[Any]) -> None:
        try:
            bot.teardown(self.ctx)
        except Exception as exc:
            logger.bind(action="run.teardown").warning("teardown failed: {}", exc)
        self.ctx.close()
