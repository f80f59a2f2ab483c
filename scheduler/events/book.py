"""What an event becomes: one QUEUED run, recorded with its events in one transaction.

The run is the same as a clock fire's (priority, inputs, max run time, apps and seats in
its ``detail``), so the dispatcher starts it under the same concurrency cap and licence
seats, and a run waiting for either is reported the same way (``run.waiting``). Its
trigger is ``event:<kind>:<name>`` and its ``schedule`` column holds the trigger's name.

The ``trigger.fired`` record is written before the transaction commits (write-ahead), and
the event rows go in that transaction, so a crash leaves either the run, its events and
its record, or none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy.exc import IntegrityError

from borough.audit.trail import AuditTrail
from borough.config.loader import Config
from borough.errors import LedgerError, SecretsError
from borough.ledger import Ledger, RunRecord, RunStatus, txn
from scheduler.config import Schedules
from scheduler.events.config import TriggerConfig
from scheduler.events.store import PROCESSED, REJECTED, Event, EventRow, EventStore
from scheduler.events.window import Window
from scheduler.seats import SeatBook
from scheduler.triggers import LONDON

EVENT_TRIGGER = "event:"
FINISHED = [s.value for s in RunStatus if s.finished and s is not RunStatus.MISSED]
OK_STATUSES = (RunStatus.SUCCEEDED.value, RunStatus.COMPLETED_WITH_FAILURES.value)


def trigger_label(kind: str, name: str) -> str:
    """The run's ``trigger`` column for a run started by trigger ``name``."""
    return f"{EVENT_TRIGGER}{kind}:{name}"


class EventBook:
    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        trail: AuditTrail,
        schedules: Schedules,
        seats: SeatBook,
        *,
        bot_version: Callable[[str], str],
        wake: Callable[[], None] = lambda: None,
        secret: Callable[[str], str] | None = None,
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.trail = trail
        self.schedules = schedules
        self.seats = seats
        self.bot_version = bot_version
        self.wake = wake
        self._secret = secret
        self.store = EventStore(ledger.engine)
        self._closed_noted: dict[str, str] = {}  # trigger -> the closure already recorded

    # -- questions a watch asks ---------------------------------------------------------------
    def secret(self, name: str) -> str:
        """A secret of the store (a mailbox's password), read when a watch signs in."""
        if self._secret is None:
            raise SecretsError(f"secret {name!r} is needed, but this scheduler has no store open")
        return self._secret(name)

    def window(self, trigger: TriggerConfig) -> Window:
        calendar = self.schedules.calendars[trigger.calendar] if trigger.calendar else None
        hours = trigger.hours
        return Window(calendar, hours.start if hours else None, hours.end if hours else None)

    def busy(self, name: str) -> int:
        """Runs of trigger ``name`` queued or running now."""
        found = self.ledger.runs.list(
            schedule=name, statuses=[RunStatus.QUEUED, RunStatus.RUNNING], limit=100
        )
        return sum(1 for run in found if run.trigger.startswith(EVENT_TRIGGER))

    def last_run(self, name: str) -> RunRecord | None:
        found = [
            run
            for run in self.ledger.runs.list(schedule=name, limit=20)
            if run.trigger.startswith(EVENT_TRIGGER)
        ]
        return found[0] if found else None

    def free_runs(self, name: str, trigger: TriggerConfig, now: datetime, *, waiting: int) -> int:
        """How many runs the trigger may queue now: 0 outside its window (``waiting``
        events are then recorded once per closure, ``trigger.deferred``), else what
        ``max_runs`` leaves beside its queued and running runs."""
        closed = self.window(trigger).why_closed(now)
        if closed is None:
            self._closed_noted.pop(name, None)
            return max(0, trigger.max_runs - self.busy(name))
        if waiting and self._closed_noted.get(name) != closed:
            self._closed_noted[name] = closed
            self.trail.bind(bot=trigger.bot).emit(
                "trigger.deferred",
                outcome="waiting",
                detail={"trigger": name, "kind": trigger.kind, "waiting": waiting, "why": closed},
            )
            logger.bind(action="trigger.deferred").info(
                "trigger {}: {} event(s) wait: {}", name, waiting, closed
            )
        return 0

    # -- after the runs -------------------------------------------------------------------------
    def settle_ended(
        self,
        name: str,
        trigger: TriggerConfig,
        what: str,
        detail_of: Callable[[EventRow], Mapping[str, Any]],
    ) -> Iterator[tuple[EventRow, str, str | None]]:
        """Settle the taken events of ``name`` whose run has ended — ``processed`` after
        SUCCEEDED or COMPLETED_WITH_FAILURES, else ``rejected`` — each with its
        ``trigger.<what>.<state>`` record in the same transaction; yields (row, state, why)
        for each settled here, for the watch to move its file or message on."""
        for row, status, error in self.store.ended(name, FINISHED):
            ok = status in OK_STATUSES
            state = PROCESSED if ok else REJECTED
            why = None if ok else f"run {row.run_id} ended {status.upper()}: {error or ''}".strip()

            def audit(
                row: EventRow = row, state: str = state, why: str | None = why, status: str = status
            ) -> None:
                self.trail.bind(run_id=row.run_id, bot=trigger.bot).emit(
                    f"trigger.{what}.{state}",
                    outcome=state,
                    error=why,
                    detail={"trigger": name, **detail_of(row), "run_status": status},
                )

            if self.store.settle(row, state, audit=audit):
                yield row, state, why

    # -- recording a fire -------------------------------------------------------------------
    def fire(
        self,
        name: str,
        trigger: TriggerConfig,
        events: Sequence[Event],
        *,
        inputs: Mapping[str, str] | None = None,
        detail: Mapping[str, Any] | None = None,
        now: datetime,
    ) -> RunRecord | None:
        """Queue one run of the trigger's bot for ``events``; None if one of them was taken
        already (nothing is recorded then)."""
        bot = trigger.bot
        kind = trigger.kind
        audit_detail = {"trigger": name, "kind": kind, **(detail or {})}
        run_detail = {**self._run_detail(name, trigger, inputs), "event": audit_detail}

        def record(run: RunRecord) -> None:
            conn = txn.current(self.ledger.engine)
            if conn is None:  # pragma: no cover - RunBook.create always records in its txn
                raise LedgerError("an event's run must be recorded inside its transaction")
            for event in events:
                self.store.take(conn, name, kind, run.id, event)
            self.trail.bind(run_id=run.id, bot=bot).emit(
                "trigger.fired",
                outcome="queued",
                detail={**audit_detail, "at": now.astimezone(LONDON).isoformat("T", "seconds")},
            )

        try:
            run = self.ledger.runs.create(
                bot,
                self.bot_version(bot),
                trigger=trigger_label(kind, name),
                status=RunStatus.QUEUED,
                schedule=name,
                fire_time=now,
                detail=run_detail,
                audit=record,
            )
        except IntegrityError:
            return None
        logger.bind(action="trigger.fired", run_id=run.id).info(
            "trigger {} ({}) queued run {}", name, kind, run.id
        )
        self.wake()
        return run

    def _run_detail(
        self, name: str, trigger: TriggerConfig, inputs: Mapping[str, str] | None
    ) -> dict[str, Any]:
        minutes = trigger.max_run_minutes
        if minutes is None:
            bot_config = self.config.bot_config(trigger.bot)
            minutes = bot_config.max_run_minutes if bot_config else None
        minutes = minutes or self.schedules.settings.default_max_run_minutes
        return {
            "priority": trigger.priority,
            "inputs": {**trigger.inputs, **(inputs or {})},
            "max_run_seconds": 60.0 * minutes,
            "apps": list(self.seats.apps_of(trigger.bot)),
            "queue": trigger.run_queue,
        }
