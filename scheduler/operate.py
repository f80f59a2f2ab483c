"""What the operator commands do (`borough schedules ...`).

When a scheduler is running it is the only writer of its store, so pause, resume and
sync become requests it applies (and answers) within a second. When none is running,
the command takes the store's lock itself and does the same work in-process.
`run-now` only records a QUEUED run in the ledger: a scheduler starts it (now, or when
it next starts).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from borough.audit.trail import AuditTrail
from borough.ledger import RunRecord, RunStatus
from borough.view import LedgerView
from scheduler.config import Schedules, load_schedules
from scheduler.errors import ScheduleNotFoundError, SchedulerError, SchedulerLockedError
from scheduler.events import view as trigger_view
from scheduler.events.view import TriggerRow, trigger_rows
from scheduler.lock import lock_for
from scheduler.requests import Request
from scheduler.store import read_jobs, store_engine
from scheduler.syncplan import SyncPlan, plan_sync
from scheduler.triggers import upcoming

if TYPE_CHECKING:
    from borough.runtime import Runtime
    from scheduler.service import SchedulerService

ANSWER_SECONDS = 15.0


@dataclass
class ScheduleRow:
    """One line of `borough schedules list`."""

    name: str
    bot: str
    when: str
    calendar: str | None
    next_fire: datetime | None
    state: str  # active | paused | not synced | disabled | removed
    priority: int
    last: RunRecord | None
    queued: int
    running: int
    waiting_for: str | None


class Operator:
    """Reads need only config, ledger and store (a :class:`~borough.runtime.LedgerView`
    will do: no secret store is unlocked); changes need a full runtime, for the
    scheduler service that applies them and the audit trail that records them."""

    def __init__(
        self, runtime: Runtime | LedgerView, *, actor: str, schedules: Schedules | None = None
    ) -> None:
        self.runtime = runtime
        self.actor = actor
        self.schedules = schedules or load_schedules(runtime.config)
        self.store_url = self.schedules.store_url(runtime.config)
        self.engine = store_engine(self.store_url)
        self.lock = lock_for(self.store_url, self.engine)

    @cached_property
    def service(self) -> SchedulerService:
        """The service over this store, built for a change (its trail signs records)."""
        from scheduler.service import SchedulerService

        if isinstance(self.runtime, LedgerView):
            raise SchedulerError("changing schedules needs the installation unlocked")
        return SchedulerService(self.runtime, schedules=self.schedules)

    def holder(self) -> dict[str, Any] | None:
        """Who runs the scheduler now (``None``: nobody)."""
        return self.lock.holder()

    # -- reading --------------------------------------------------------------------------
    def rows(self, *, now: datetime | None = None) -> list[ScheduleRow]:
        now = now or datetime.now(UTC)
        stored = read_jobs(self.engine)
        runs = self.runtime.ledger.runs
        rows = []
        for name in sorted(set(self.schedules.entries) | set(stored)):
            entry = self.schedules.entries.get(name)
            view = stored.get(name)
            if entry is None:
                state = "removed"
            elif not entry.enabled:
                state = "disabled"
            elif view is None:
                state = "not synced"
            else:
                state = "paused" if view.paused else "active"
            trigger = view.trigger if view is not None else None
            if trigger is None and entry is not None:
                trigger = self.schedules.trigger(name)
            next_fire = view.next_fire if view is not None else None
            if view is None and trigger is not None and state == "not synced":
                found = upcoming(trigger, now, 1)
                next_fire = found[0] if found else None
            recent = runs.list(schedule=name, limit=50)
            last = next((r for r in recent if r.status.finished), None)
            queued = [r for r in recent if r.status is RunStatus.QUEUED]
            rows.append(
                ScheduleRow(
                    name=name,
                    bot=entry.bot if entry else (view.bot if view else "?"),
                    when=trigger.describe() if trigger is not None else "?",
                    calendar=entry.calendar if entry else None,
                    next_fire=next_fire if state in ("active", "not synced") else None,
                    state=state,
                    priority=entry.priority if entry else 0,
                    last=last,
                    queued=len(queued),
                    running=sum(1 for r in recent if r.status is RunStatus.RUNNING),
                    waiting_for=next(
                        (r.detail["waiting_for"] for r in queued if r.detail.get("waiting_for")),
                        None,
                    ),
                )
            )
        return rows

    def trigger_rows(self, *, now: datetime | None = None) -> list[TriggerRow]:
        """The event triggers of schedules.yaml: kind, state, last event, window."""
        return trigger_rows(self.schedules, self.runtime.ledger, now or datetime.now(UTC))

    def plan(self) -> SyncPlan:
        """What ``sync`` would change (bot configs and ``apps.yaml`` read afresh)."""
        self.runtime.config.reload()
        return plan_sync(read_jobs(self.engine), self.schedules, self.runtime.config)

    # -- changing -------------------------------------------------------------------------
    def pause(self, name: str) -> str:
        if name in self.schedules.triggers:
            return trigger_view.pause(
                self.schedules, self.runtime.ledger, self._trail(), name, self.actor
            )
        return self._act("pause", self._known(name))

    def resume(self, name: str) -> str:
        if name in self.schedules.triggers:
            return trigger_view.resume(self.schedules, self.runtime.ledger, self._trail(), name)
        return self._act("resume", self._known(name))

    def _trail(self) -> AuditTrail:
        """Who changes a trigger signs its record (a read-only view cannot)."""
        if isinstance(self.runtime, LedgerView):
            raise SchedulerError("changing triggers needs the installation unlocked")
        return self.runtime.trail.bind(actor=self.actor)

    def sync(self) -> str:
        return self._act("sync", None)

    def run_now(self, name: str) -> RunRecord:
        entry = self.schedules.entries.get(name)
        if entry is None:
            raise ScheduleNotFoundError(f"no schedule named {name!r} in {self.schedules.file}")
        return self.service.book.run_now(name, self.actor)

    def _known(self, name: str) -> str:
        if name not in read_jobs(self.engine):
            hint = (
                "run `borough schedules sync` first"
                if name in self.schedules.active
                else "see `borough schedules list`"
            )
            raise ScheduleNotFoundError(f"no schedule named {name!r} in the store; {hint}")
        return name

    def _act(self, verb: str, name: str | None) -> str:
        """Ask the running scheduler; if none runs, do it here under the store's lock."""
        if self.holder() is None:
            try:
                with self._offline() as service:
                    request = Request(0, verb, name, self.actor, datetime.now(UTC))
                    outcome = service.apply_request(request, offline=True)
                    return outcome + " (no scheduler running; applied)"
            except SchedulerLockedError:
                pass  # a scheduler started meanwhile: ask it
        box = self.service.requests
        request_id = box.post(verb, name, self.actor)
        answer = box.wait(request_id, ANSWER_SECONDS)
        if answer is None:
            raise SchedulerError(
                f"the running scheduler did not answer within {ANSWER_SECONDS:g}s; the request "
                f"stays queued and is applied when it next checks (request {request_id})"
            )
        if not answer.ok:
            raise SchedulerError(f"the scheduler refused: {answer.outcome}")
        return str(answer.outcome) + " (applied by the running scheduler)"

    @contextmanager
    def _offline(self) -> Iterator[SchedulerService]:
        """The store, opened here without firing: this process is no scheduler, so due
        fires are left for the next start to account for (and report), and never queued."""
        service = self.service
        service.lock.acquire(wait=False)
        try:
            service.store.start()
            yield service
        finally:
            service.store.shutdown()
            service.lock.release()
