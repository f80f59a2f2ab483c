"""One run of one bot: recover, ingest, work every item, record the outcome.

The order is what makes runs safe to kill at any moment: dead runs are reaped, every
input row is recorded before any is worked, orphaned in-flight items are checked in the
target before anything else, and each item's intent is durable before the change.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from loguru import logger
from pydantic import ValidationError

from borough import inputs
from borough.bot import Bot
from borough.config.loader import Config, config_error_from
from borough.config.models import BotConfig, RetryPolicy
from borough.config.yaml_lines import load_yaml
from borough.context import RunContext
from borough.drift.preflight import preflight
from borough.errors import AuditError, BoroughError, LeaseLostError
from borough.ingest import describe, ingest_items
from borough.ledger import ItemState, NewItem, RunCounts, RunRecord, RunStatus
from borough.ledger.runs import utcnow
from borough.observe import RunObserver
from borough.registry import load_bot
from borough.runtime import Runtime
from borough.worker import ItemWorker, RunCancelled, describe_error

MAX_WAIT_SLICE = 5.0


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


class Heartbeat(threading.Thread):
    """Proves the run is alive so its items are not adopted by another run."""

    def __init__(self, runtime: Runtime, run_id: str, interval: float) -> None:
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self._runs = runtime.ledger.runs
        self._run_id = run_id
        self._interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            try:
                self._runs.heartbeat(self._run_id)
            except Exception as exc:
                logger.bind(action="run.heartbeat").warning("heartbeat failed: {}", exc)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def resolve_inputs(
    runtime: Runtime, bot_config: BotConfig | None, overrides: Mapping[str, str]
) -> dict[str, Path]:
    """Each input as an :class:`~borough.inputs.InputFile` (path + encoding, sheet, limits)."""
    declared = dict(bot_config.inputs) if bot_config else {}
    file = runtime.config.bot_config_file(bot_config.bot) if bot_config else None
    return inputs.resolve_inputs(runtime.paths.home, declared, overrides, declared_in=file)


def bot_settings(config: Config, bot_cls: type[Bot[Any]], bot_config: BotConfig | None) -> Any:
    """The bot's ``settings:`` block validated by its ``settings_model`` (errors name the line)."""
    raw = bot_config.settings if bot_config else {}
    model = bot_cls.settings_model
    if model is None:
        return dict(raw)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        file = config.bot_config_file(bot_cls.name)
        doc = load_yaml(file) if file.exists() else None
        if doc is None:
            raise
        raise config_error_from(exc, model, doc, ("settings",)) from None


def run_bot(
    runtime: Runtime, request: RunRequest, observer: RunObserver | None = None
) -> RunRecord:
    """Run ``request.bot`` to the end and return its run record (never raises for items)."""
    observer = observer or RunObserver()
    bot_cls = load_bot(request.bot, runtime.config)
    bot_config = runtime.config.bot_config(request.bot)
    policy = (bot_config.retry if bot_config and bot_config.retry else None) or bot_cls.retry
    inputs = resolve_inputs(runtime, bot_config, request.inputs)
    settings = bot_settings(runtime.config, bot_cls, bot_config)
    if request.dry_run:
        return _dry_run(
            runtime, bot_cls, request, inputs=inputs, settings=settings, observer=observer
        )
    return _Run(
        runtime=runtime,
        bot_cls=bot_cls,
        bot_config=bot_config,
        policy=policy,
        request=request,
        inputs=inputs,
        settings=settings,
        observer=observer,
    ).execute()


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
    ) -> None:
        self.runtime = runtime
        self.bot_cls = bot_cls
        self.bot_config = bot_config
        self.policy = policy
        self.request = request
        self.observer = observer
        self.counts = RunCounts()
        ledger = runtime.ledger
        if request.run_id:
            ledger.runs.start(request.run_id)
            self.run = ledger.runs.get(request.run_id)
        else:
            self.run = ledger.runs.create(
                bot_cls.name,
                bot_cls.version,
                trigger=request.trigger,
                schedule=request.schedule,
                fire_time=request.fire_time,
            )
        self.trail = runtime.trail.bind(
            run_id=self.run.id,
            bot=bot_cls.name,
            bot_version=bot_cls.version,
            actor=f"bot:{bot_cls.name}",
        )
        self.ctx = RunContext(
            runtime=runtime,
            run_id=self.run.id,
            bot_name=bot_cls.name,
            trail=self.trail,
            inputs=inputs,
            settings=settings,
            apps_allowed=tuple(bot_config.apps) if bot_config else (),
        )

    def execute(self) -> RunRecord:
        runtime, run_id = self.runtime, self.run.id
        self.observer.on_run_started(run_id, self.bot_cls.name)
        try:
            self.trail.emit(
                "run.start",
                detail={"trigger": self.request.trigger, "inputs": _fingerprints(self.ctx.inputs)},
            )
        except AuditError as exc:  # nothing may happen unrecorded: stop before any work
            return self._unaudited_end(str(exc))
        heartbeat = Heartbeat(runtime, run_id, runtime.config.settings.ledger.heartbeat_seconds)
        heartbeat.start()
        status, error = RunStatus.FAILED, None
        bot = self.bot_cls()
        try:
            reaped = runtime.ledger.runs.reap(
                runtime.config.settings.ledger.lease_seconds, bot=self.bot_cls.name
            )
            for dead in reaped:
                self.trail.emit("run.reaped", outcome="crashed", detail={"dead_run": dead})
            # a drifted app stops the run here, before any item is recorded or claimed
            preflight(self.ctx, self.bot_config, self.request.trigger, self.request.schedule)
            ingest_items(
                runtime,
                self.bot_cls,
                bot.items(self.ctx),
                run_id=run_id,
                trail=self.trail,
                counts=self.counts,
                observer=self.observer,
            )
            self.observer.on_work_started(
                runtime.ledger.items.count_by_state(bot=self.bot_cls.name).get(ItemState.PENDING, 0)
            )
            bot.setup(self.ctx)
            worker = ItemWorker(
                runtime, bot, self.ctx, self.trail, self.policy, self.counts, self.observer
            )
            self._work(worker)
            problems = self.counts.failed + self.counts.needs_review
            status = RunStatus.COMPLETED_WITH_FAILURES if problems else RunStatus.SUCCEEDED
        except (RunCancelled, KeyboardInterrupt):
            status, error = RunStatus.CANCELLED, "stopped by a signal before finishing"
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
            self.trail.emit(
                "run.end",
                outcome=status.value,
                error=error,
                detail={"counts": self.counts.__dict__},
            )
            seq = self.trail.checkpoint("run end")
        except AuditError as exc:
            return self._unaudited_end(str(exc))
        runtime.ledger.runs.finish(
            run_id, status, counts=self.counts, error=error, audit_seq_end=seq
        )
        return runtime.ledger.runs.get(run_id)

    def _unaudited_end(self, audit_error: str) -> RunRecord:
        """The trail cannot be written: the run is FAILED in the ledger, with the reason."""
        error = self.runtime.redactor.redact(audit_error)
        self.runtime.ledger.runs.finish(
            self.run.id, RunStatus.FAILED, counts=self.counts, error=error
        )
        return self.runtime.ledger.runs.get(self.run.id)

    def _work(self, worker: ItemWorker) -> None:
        items = self.runtime.ledger.items
        runs = self.runtime.ledger.runs
        name, run_id = self.bot_cls.name, self.run.id
        worked = 0
        while self.request.limit is None or worked < self.request.limit:
            orphans = items.adopt_orphans(name, run_id, runs.live_run_ids() - {run_id})
            for claim in orphans:
                self._work_one(worker, claim)
            next_claim = items.claim_next(name, run_id)
            if next_claim is not None:
                self._work_one(worker, next_claim)
                worked += 1
                continue
            if orphans:
                continue
            due = items.next_due(name)
            if due is None:
                return
            wait = min(max((due - utcnow()).total_seconds(), 0.05), MAX_WAIT_SLICE)
            self.observer.on_wait(wait)
            time.sleep(wait)

    def _work_one(self, worker: ItemWorker, claim: Any) -> None:
        try:
            worker.work(claim)
        except LeaseLostError as exc:
            logger.bind(action="item.lease_lost").warning("{}", exc)
        finally:
            self.ctx.item = None
            self.runtime.ledger.runs.save_counts(self.run.id, self.counts)

    def _close(self, bot: Bot[Any]) -> None:
        try:
            bot.teardown(self.ctx)
        except Exception as exc:
            logger.bind(action="run.teardown").warning("teardown failed: {}", exc)
        self.ctx.close()


def _fingerprints(inputs: Mapping[str, Path]) -> dict[str, Any]:
    """Input files by name and content hash (paths may hold names; hashes do not)."""
    result: dict[str, Any] = {}
    for name, path in inputs.items():
        entry: dict[str, Any] = {"file": path.name}
        if path.is_file():
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        result[name] = entry
    return result


def _dry_run(
    runtime: Runtime,
    bot_cls: type[Bot[Any]],
    request: RunRequest,
    *,
    inputs: dict[str, Path],
    settings: Any,
    observer: RunObserver,
) -> RunRecord:
    """Read and validate the inputs, compare with the ledger, change nothing anywhere."""
    run = runtime.ledger.runs.create(
        bot_cls.name, bot_cls.version, trigger=request.trigger, status=RunStatus.DRY_RUN
    )
    trail = runtime.trail.bind(
        run_id=run.id, bot=bot_cls.name, bot_version=bot_cls.version, actor=f"bot:{bot_cls.name}"
    )
    ctx = RunContext(
        runtime=runtime,
        run_id=run.id,
        bot_name=bot_cls.name,
        trail=trail,
        inputs=inputs,
        settings=settings,
        dry_run=True,
    )
    counts = RunCounts()
    error = None
    previews: list[tuple[str, NewItem, str | None]] = []
    try:
        for item in bot_cls().items(ctx):
            new = describe(runtime, bot_cls, item)
            known = runtime.ledger.items.list(bot=bot_cls.name, token=new.key_token, limit=1)
            if known and known[0].key_token == new.key_token:
                if known[0].state is ItemState.DONE:
                    counts.already_done += 1
                previews.append(("known", new, known[0].state.value))
            elif new.invalid_reason:
                counts.failed += 1
                previews.append(("invalid", new, new.invalid_reason))
            else:
                counts.ingested += 1
                previews.append(("new", new, None))
    except BoroughError as exc:
        error = str(exc)
    observer_preview = getattr(observer, "on_preview", None)
    if observer_preview:
        observer_preview(previews)
    trail.emit(
        "run.dry_run",
        outcome="ok" if error is None else "error",
        error=error,
        detail={"counts": counts.__dict__},
    )
    status = RunStatus.DRY_RUN if error is None else RunStatus.FAILED
    runtime.ledger.runs.finish(run.id, status, counts=counts, error=error)
    return runtime.ledger.runs.get(run.id)
