"""The schedule store: APScheduler 3.11 over a SQLAlchemy job store (SQLite by default).

Jobs carry only what APScheduler needs (the trigger, the grace, a textual callable);
the bot, inputs and policies are read from ``schedules.yaml`` by the service, and
``sync`` makes the store match the file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED
from sqlalchemy import Engine

from borough.config.loader import Config
from borough.ledger.engine import open_engine
from scheduler.config import Schedules
from scheduler.syncplan import SyncPlan, plan_sync, schedule_settings
from scheduler.triggers import LONDON, BoroughTrigger

JOB_FUNC = "scheduler.jobs:fire"
JOBS_TABLE = "apscheduler_jobs"
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1}

DueHandler = Callable[[Job, list[datetime]], None]
Gate = Callable[[], bool]
GATE_RETRY_SECONDS = 1.0


def store_engine(url: str) -> Engine:
    """An engine for the store, set up as the ledger's (:mod:`borough.ledger.engine`)."""
    return open_engine(url)


class StoreScheduler(BackgroundScheduler):  # type: ignore[misc]  # apscheduler ships no types
    """APScheduler's background scheduler that never processes jobs once stopped.

    APScheduler 3's ``shutdown`` sets the state to stopped and then wakes the scheduler's
    thread, which runs one more round of due jobs before it notices (agronholm/apscheduler
    #285). For a store opened paused by an operator command (sync, pause) that round
    would fire every due schedule from a process that is no scheduler; for a stopping
    scheduler it would queue runs after it decided to stop. Due jobs stay due instead, for
    the next start to account for.

    Before each round it asks its ``gate`` (does this scheduler still hold the store's
    lock?); a closed gate skips the round, so neither a fire nor a store update happens.

    It also notes when each round of due jobs began, so that a caller can wait until the
    scheduler has looked at the clock past a given moment (:meth:`wait_for_round`).
    """

    def __init__(self, gate: Gate | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._gate = gate
        self._rounds = threading.Condition()
        self._round_began: datetime | None = None

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        if self.state == STATE_RUNNING and self._gate is not None and not self._gate():
            return GATE_RETRY_SECONDS
        began = datetime.now(UTC) if self.state == STATE_RUNNING else None
        wait: float | None = super()._process_jobs()
        if began is not None:
            with self._rounds:
                self._round_began = began
                self._rounds.notify_all()
        return wait

    def wait_for_round(self, after: datetime, timeout: float) -> bool:
        """Wake the scheduler until a round of due jobs that began at or after ``after``
        has ended (every fire due by then is recorded); ``False`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._rounds:
            while self._round_began is None or self._round_began < after:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.wakeup()
                self._rounds.wait(min(remaining, 0.2))
        return True


class FireExecutor(BaseExecutor):  # type: ignore[misc]  # apscheduler ships no types
    """Hands every due job to borough's fire book instead of running it in a thread pool.

    APScheduler calls ``submit_job`` from its loop and then stores the job's next fire
    time, so the fire is recorded in the ledger before APScheduler moves past it.
    """

    def __init__(self, on_due: DueHandler) -> None:
        super().__init__()
        self._on_due = on_due

    def submit_job(self, job: Job, run_times: list[datetime]) -> None:
        """No instance counting here: overlap is decided from the ledger by the fire book."""
        self._do_submit_job(job, run_times)

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        self._on_due(job, run_times)


@dataclass
class JobView:
    """What an operator sees of one stored schedule."""

    name: str
    bot: str
    next_fire: datetime | None  # None: paused
    trigger: BoroughTrigger
    grace: int | None
    settings: dict[str, Any] | None = None  #: as at the last sync (see syncplan.py)

    @property
    def paused(self) -> bool:
        return self.next_fire is None


def _view(job: Job) -> JobView:
    return JobView(
        name=job.id,
        bot=str(job.kwargs.get("bot", "?")),
        next_fire=job.next_run_time,
        trigger=job.trigger,
        grace=job.misfire_grace_time,
        settings=job.kwargs.get("settings"),
    )


class ScheduleStore:
    """The APScheduler scheduler bound to borough's store and executor."""

    def __init__(self, engine: Engine, on_due: DueHandler, gate: Gate | None = None) -> None:
        self.engine = engine
        self.scheduler = StoreScheduler(
            gate,
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
            executors={"default": FireExecutor(on_due)},
            job_defaults=JOB_DEFAULTS,
            timezone=LONDON,
        )

    def start(self) -> None:
        """Open the store without processing jobs (``resume`` starts firing)."""
        self.scheduler.start(paused=True)

    def resume(self) -> None:
        self.scheduler.resume()

    def pause_firing(self) -> None:
        """Stop processing due jobs (they stay due) until :meth:`resume`."""
        self.scheduler.pause()

    def wakeup(self) -> None:
        self.scheduler.wakeup()

    def wait_for_round(self, after: datetime, timeout: float = 30) -> bool:
        """Until the scheduler has looked for due jobs at a time at or after ``after``."""
        return bool(self.scheduler.wait_for_round(after, timeout))

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def jobs(self) -> dict[str, Job]:
        return {job.id: job for job in self.scheduler.get_jobs()}

    def views(self) -> dict[str, JobView]:
        return {name: _view(job) for name, job in self.jobs().items()}

    def plan(self, schedules: Schedules, config: Config) -> SyncPlan:
        return plan_sync(self.views(), schedules, config)

    def apply(self, plan: SyncPlan, schedules: Schedules, config: Config) -> None:
        current = self.jobs()
        for name in plan.removed:
            self.scheduler.remove_job(name)
        for name in [*plan.added, *plan.changed]:
            schedule = schedules.entries[name]
            was_paused = name in current and current[name].next_run_time is None
            self.scheduler.add_job(
                JOB_FUNC,
                trigger=schedules.trigger(name),
                id=name,
                name=name,
                kwargs={
                    "schedule": name,
                    "bot": schedule.bot,
                    "settings": schedule_settings(name, schedules, config),
                },
                misfire_grace_time=schedule.misfire_grace_seconds,
                replace_existing=True,
                **JOB_DEFAULTS,
            )
            if was_paused:
                self.scheduler.pause_job(name)

    def pause(self, name: str) -> None:
        self.scheduler.pause_job(name)

    def resume_job(self, name: str) -> datetime | None:
        job = self.scheduler.resume_job(name)
        return None if job is None else job.next_run_time

    def set_next_fire(self, name: str, when: datetime | None) -> None:
        if when is None:
            self.scheduler.remove_job(name)
        else:
            self.scheduler.modify_job(name, next_run_time=when)


def read_jobs(engine: Engine) -> dict[str, JobView]:
    """The stored schedules, read without starting a scheduler (safe while one runs)."""
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
    store.start(BackgroundScheduler(timezone=LONDON), "default")
    return {job.id: _view(job) for job in store.get_all_jobs()}
