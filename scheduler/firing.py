"""What each due fire becomes: a QUEUED run, or a MISSED record. Never nothing.

APScheduler coalesces: when a job is late it hands over only the last due time. The fire
book asks the trigger for every fire time from the job's stored next fire time to that
last one, so each fire time ends in the ledger exactly once:

* on time (within the schedule's misfire grace) → one QUEUED run for the latest fire;
  earlier fires in the same batch are MISSED ("coalesced");
* late (the scheduler was down or busy) → MISSED, except that ``on_missed: run_once``
  queues one catch-up run for the latest late fire;
* the schedule's previous run still queued or running → MISSED ("still busy").

A fire time already in the ledger is ignored, so a fire re-offered after a crash (the
ledger write happened, the store update did not) is not run twice; and the ledger itself
refuses a second record of one fire (``borough_runs.fire_key``), so two schedulers that
both believe they are active (a split brain) still record each fire once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from loguru import logger
from sqlalchemy import func, select

from borough.audit.trail import AuditTrail
from borough.config.loader import Config
from borough.errors import BoroughError, FireRecordedError
from borough.ledger import Ledger, RunRecord, RunStatus
from borough.ledger.runs import SCHEDULE_TRIGGER, RunAudit
from borough.ledger.schema import runs as runs_table
from borough.registry import load_bot
from scheduler.config import ScheduleConfig, Schedules
from scheduler.notify.base import Notice
from scheduler.seats import SeatBook
from scheduler.triggers import LONDON, fire_times

MISSED_ROWS = 50  # one row per missed fire up to this; the rest become one summary row
PART_TRIGGER = "part:"  #: one more run of a fire with ``runs: N`` (item-level parallelism)


@dataclass
class FireReport:
    """What one call to :meth:`FireBook.on_due` recorded."""

    schedule: str
    queued: list[RunRecord] = field(default_factory=list)
    missed: list[RunRecord] = field(default_factory=list)


def _iso(moment: datetime) -> str:
    return moment.astimezone(LONDON).isoformat(timespec="seconds")


class FireBook:
    def __init__(
        self,
        config: Config,
        ledger: Ledger,
        trail: AuditTrail,
        schedules: Schedules,
        seats: SeatBook,
        *,
        notify: Callable[[Notice], object] = lambda notice: None,
        wake: Callable[[], None] = lambda: None,
        council: str = "",
    ) -> None:
        self.config = config
        self.ledger = ledger
        self.trail = trail
        self.schedules = schedules
        self.seats = seats
        self.notify = notify
        self.wake = wake
        self.council = council
        self._last_fire: dict[str, datetime | None] = {}
        self._lock = threading.RLock()  # APScheduler's thread and operator requests both fire

    # -- fires ----------------------------------------------------------------------------
    def on_due(
        self,
        name: str,
        bot: str,
        trigger: BaseTrigger,
        first_due: datetime,
        last_due: datetime,
        *,
        now: datetime | None = None,
        skip_missed: bool = False,
        missed_reason: str | None = None,
    ) -> FireReport:
        """Account for every fire of ``name`` from ``first_due`` to ``last_due`` (inclusive).

        ``trigger`` is the stored one, which produced those times; ``skip_missed`` treats
        late fires as ``on_missed: skip`` (used when an operator pauses the schedule);
        ``missed_reason`` records them all as MISSED with that reason and queues nothing.
        """
        now = now or datetime.now(UTC)
        report = FireReport(name)
        schedule = self.schedules.active.get(name)
        due = fire_times(trigger, first_due, last_due)
        if not due or due[-1] != last_due:
            due.append(last_due)
        handled = self.last_fire(name)
        due = [t for t in due if handled is None or t.astimezone(UTC) > handled]
        if not due:
            return report
        if schedule is None or missed_reason is not None:
            reason = missed_reason or "schedule is no longer in schedules.yaml"
            report.missed += self._missed(name, bot, due, reason, now=now)
            self._last_fire[name] = due[-1].astimezone(UTC)
            return report
        grace = schedule.misfire_grace_seconds
        latest = due[-1]
        late_by = (now - latest).total_seconds()
        run_it = late_by <= grace or (schedule.on_missed == "run_once" and not skip_missed)
        older = due[:-1]
        late = [t for t in older if (now - t).total_seconds() > grace]
        if late:
            reason = f"the scheduler was not running or was busy at the fire time (grace {grace}s)"
            report.missed += self._missed(name, schedule.bot, late, reason, now=now)
        coalesced = older[len(late) :]
        if coalesced:
            reason = "coalesced with a later fire of the same schedule"
            report.missed += self._missed(name, schedule.bot, coalesced, reason, now=now)
        if not run_it:
            policy = "paused" if skip_missed else "on_missed: skip"
            reason = f"late by {late_by:.0f}s, over the grace of {grace}s; {policy}"
            report.missed += self._missed(name, schedule.bot, [latest], reason, now=now)
        else:
            busy = self._busy_run(name)
            if busy is not None:
                reason = f"the previous run {busy.id} was still {busy.status.value}"
                report.missed += self._missed(name, schedule.bot, [latest], reason, now=now)
            else:
                extra: dict[str, Any] = {}
                if late_by > grace:
                    extra["late_seconds"] = round(late_by)
                if schedule.on_missed == "run_once" and (late or late_by > grace):
                    # this run stands in for the fires missed before it
                    extra.update(catch_up=True, covers_missed=len(late) + (late_by > grace))
                queued = self._queue(name, schedule, latest, extra)
                report.queued += [queued] if queued is not None else []
        self._last_fire[name] = latest.astimezone(UTC)
        if report.missed:
            self._notify_missed(name, schedule.bot, report)
        return report

    def run_now(self, name: str, actor: str) -> RunRecord:
        """Queue a run of ``name`` at once (an operator asked); the scheduler starts it."""
        schedule = self.schedules.entries[name]
        trigger = f"run-now:{actor}"
        record = self._record_queued(
            name,
            schedule,
            trigger,
            datetime.now(UTC),
            {},
            audit=lambda run: self.trail.bind(run_id=run.id, bot=schedule.bot, actor=actor).emit(
                "schedule.run_now", detail={"schedule": name}
            ),
        )
        self._queue_parts(name, schedule, record)
        self.wake()
        return record

    def forget(self) -> None:
        """Drop the cached last fires: another scheduler may have fired since."""
        with self._lock:
            self._last_fire.clear()

    def last_fire(self, name: str) -> datetime | None:
        """The latest fire time of ``name`` the ledger has (any outcome), cached."""
        if name not in self._last_fire:
            query = select(func.max(runs_table.c.fire_time)).where(
                runs_table.c.schedule == name, runs_table.c.trigger.startswith(SCHEDULE_TRIGGER)
            )
            with self.ledger.engine.connect() as conn:
                value = conn.execute(query).scalar()
            if value is not None and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            self._last_fire[name] = value
        return self._last_fire[name]

    def bot_version(self, bot: str) -> str:
        """The bot's declared version, for the run book ("?" if it cannot be loaded)."""
        try:
            return str(load_bot(bot, self.config).version)
        except BoroughError as exc:
            logger.bind(action="schedule.bot").warning("cannot load bot {}: {}", bot, exc)
            return "?"

    # -- internals ------------------------------------------------------------------------
    def _busy_run(self, name: str) -> RunRecord | None:
        found = self.ledger.runs.list(
            schedule=name, statuses=[RunStatus.QUEUED, RunStatus.RUNNING], limit=1
        )
        return found[0] if found else None

    def _detail(self, name: str, schedule: ScheduleConfig) -> dict[str, Any]:
        return {
            "priority": schedule.priority,
            "inputs": dict(schedule.inputs),
            "max_run_seconds": self.schedules.max_run_seconds(name, self.config),
            "apps": list(self.seats.apps_of(schedule.bot)),
            "queue": schedule.queue,
        }

    def _record_queued(
        self,
        name: str,
        schedule: ScheduleConfig,
        trigger: str,
        fire_time: datetime,
        extra: dict[str, Any],
        *,
        audit: RunAudit,
    ) -> RunRecord:
        """The QUEUED run, recorded with its audit record (written before the commit)."""
        return self.ledger.runs.create(
            schedule.bot,
            self.bot_version(schedule.bot),
            trigger=trigger,
            status=RunStatus.QUEUED,
            schedule=name,
            fire_time=fire_time.astimezone(UTC),
            detail={**self._detail(name, schedule), **extra},
            audit=audit,
        )

    def _queue(
        self, name: str, schedule: ScheduleConfig, fire: datetime, extra: dict[str, Any]
    ) -> RunRecord | None:
        """The fire's run (and its parts); ``None`` if the ledger already has this fire."""
        catch_up = bool(extra.get("catch_up"))
        try:
            record = self._record_queued(
                name,
                schedule,
                SCHEDULE_TRIGGER + name,
                fire,
                extra,
                audit=lambda run: self.trail.bind(run_id=run.id, bot=schedule.bot).emit(
                    "schedule.fired",
                    outcome="queued",
                    detail={"schedule": name, "fire_time": _iso(fire), **extra},
                ),
            )
        except FireRecordedError as exc:
            self._recorded_elsewhere(exc)
            return None
        self._queue_parts(name, schedule, record)
        logger.bind(action="schedule.fired", run_id=record.id).info(
            "{} fired for {} (run {}{})",
            name,
            _iso(fire),
            record.id,
            ", catch-up" if catch_up else "",
        )
        self.wake()
        return record

    def _queue_parts(self, name: str, schedule: ScheduleConfig, lead: RunRecord) -> None:
        """``runs: N``: N - 1 more runs of the same fire, working the same items at once.

        Each part is a run of its own (its own process, lease and seats) that claims items
        from the shared ledger; its trigger names the lead run, so the fire is still
        recorded once (``schedule:`` triggers only).
        """
        for part in range(2, schedule.runs + 1):
            extra: dict[str, Any] = {"lead": lead.id, "part": part, "parts": schedule.runs}

            def queued(run: RunRecord, extra: dict[str, Any] = extra) -> None:
                self.trail.bind(run_id=run.id, bot=schedule.bot).emit(
                    "run.queued", outcome="queued", detail={"schedule": name, **extra}
                )

            self._record_queued(
                name,
                schedule,
                PART_TRIGGER + lead.id,
                lead.fire_time or datetime.now(UTC),
                extra,
                audit=queued,
            )

    def _missed(
        self, name: str, bot: str, times: list[datetime], reason: str, *, now: datetime
    ) -> list[RunRecord]:
        records: list[RunRecord | None] = []
        summarised: list[datetime] = []
        if len(times) > MISSED_ROWS:
            summarised, times = times[: -MISSED_ROWS + 1], times[-MISSED_ROWS + 1 :]
        if summarised:
            detail = {
                "missed_count": len(summarised),
                "first": _iso(summarised[0]),
                "last": _iso(summarised[-1]),
            }
            records.append(self._missed_row(name, bot, summarised[-1], reason, detail))
        for moment in times:
            records.append(self._missed_row(name, bot, moment, reason, {}))
        logger.bind(action="schedule.missed").warning(
            "{}: {} fire(s) missed ({})", name, len(summarised) + len(times), reason
        )
        return [record for record in records if record is not None]

    def _missed_row(
        self, name: str, bot: str, moment: datetime, reason: str, detail: dict[str, Any]
    ) -> RunRecord | None:
        try:
            return self._create_missed(name, bot, moment, reason, detail)
        except FireRecordedError as exc:
            self._recorded_elsewhere(exc)
            return None

    def _recorded_elsewhere(self, exc: FireRecordedError) -> None:
        logger.bind(action="schedule.duplicate").warning(
            "{}; not recorded again (another scheduler was active)", exc
        )

    def _create_missed(
        self, name: str, bot: str, moment: datetime, reason: str, detail: dict[str, Any]
    ) -> RunRecord:
        return self.ledger.runs.create(
            bot,
            self.bot_version(bot),
            trigger=SCHEDULE_TRIGGER + name,
            status=RunStatus.MISSED,
            schedule=name,
            fire_time=moment.astimezone(UTC),
            detail={"reason": reason, **detail},
            error=reason,
            audit=lambda run: self.trail.bind(run_id=run.id, bot=bot).emit(
                "schedule.missed",
                outcome="missed",
                error=reason,
                detail={"schedule": name, "fire_time": _iso(moment), **detail},
            ),
        )

    def _notify_missed(self, name: str, bot: str, report: FireReport) -> None:
        count = sum(int(r.detail.get("missed_count", 1)) for r in report.missed)
        last = report.missed[-1]
        self.notify(
            Notice(
                event="missed",
                bot=bot,
                schedule=name,
                run_id=last.id,
                when=last.fire_time or datetime.now(UTC),
                summary=f"{count} fire(s) of schedule {name} did not run: {last.error}",
                council=self.council,
                detail={"missed": count, "caught_up": "yes" if report.queued else "no"},
            )
        )
