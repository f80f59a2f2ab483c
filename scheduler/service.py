"""The scheduler service: one active instance per schedule store.

Start-up order matters: take the lock, open the store without firing, record the fires
missed while no scheduler ran (the start-up report), make the store match
``schedules.yaml``, adopt runs a previous instance left running, then fire. One service
thread supervises runs, applies operator requests and reaps dead runs; APScheduler's own
thread only records fires (a ledger write), so a hung bot never delays a fire.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from apscheduler.job import Job
from loguru import logger
from sqlalchemy.engine import make_url

from borough.ledger import RunRecord
from borough.reaper import reap_dead_runs
from borough.runtime import Runtime
from scheduler.config import Schedules, load_schedules
from scheduler.dispatch.base import Dispatcher
from scheduler.events.book import EventBook
from scheduler.events.loop import EventLoop
from scheduler.firing import FireBook
from scheduler.jobs import catch_up, fire_job
from scheduler.lock import lock_for
from scheduler.notify.anchors import AnchorNotices
from scheduler.notify.hub import Notifications, notifier_for
from scheduler.requests import Request, RequestBox
from scheduler.seats import SeatBook
from scheduler.store import ScheduleStore, store_engine
from scheduler.syncplan import SyncPlan

REQUEST_POLL_SECONDS = 0.5
REAP_SECONDS = 5.0
LOCK_CHECK_SECONDS = 2.0  #: a quiet scheduler proves its lock this often (and before fires)
OFFLINE_MISSED = (
    "no scheduler was running at the fire time; the schedule changed before one started"
)
OFFLINE_PAUSED = (
    "no scheduler was running at the fire time; the schedule was paused before one started"
)


@dataclass
class StartupReport:
    """What ``start`` found and did, for the operator's first screen."""

    plan: SyncPlan
    missed: list[RunRecord] = field(default_factory=list)
    caught_up: list[RunRecord] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)


def child_environment(runtime: Runtime, env: Mapping[str, str] | None) -> dict[str, str]:
    """What a run's process inherits: our environment, pointed at the same installation
    folders. The secrets passphrase is not in it: :class:`~borough.secrets.passphrase.Handover`
    removes it and hands it over through a pipe."""
    paths = runtime.paths
    return {
        **os.environ,
        **(env or {}),
        "BOROUGH_HOME": str(paths.home),
        "BOROUGH_CONFIG_DIR": str(paths.config),
        "BOROUGH_LOGS_DIR": str(paths.logs),
        "BOROUGH_DATA_DIR": str(paths.data),
    }


class SchedulerService:
    def __init__(
        self,
        runtime: Runtime,
        *,
        schedules: Schedules | None = None,
        env: Mapping[str, str] | None = None,
        on_run_ended: Callable[[RunRecord], None] | None = None,
    ) -> None:
        config = runtime.config
        self.runtime = runtime
        self.schedules = schedules or load_schedules(config)
        self.store_url = self.schedules.store_url(config)
        self.engine = store_engine(self.store_url)
        self.lock = lock_for(self.store_url, self.engine)
        self.requests = RequestBox(self.engine)
        self.trail = runtime.trail.bind(actor="scheduler")
        self.seats = SeatBook(config)
        self.notifications = Notifications(
            self.schedules.notify,
            [notifier_for(channel, runtime.secrets) for channel in self.schedules.notify.channels],
            self.trail,
            redact=runtime.redactor.redact,
            council=config.settings.council,
        )
        self.anchors = AnchorNotices(
            self.schedules.notify,
            self.trail,
            self.notifications.publish,
            council=config.settings.council,
        )
        self.book = FireBook(
            config,
            runtime.ledger,
            self.trail,
            self.schedules,
            self.seats,
            notify=self.notifications.publish,
            wake=self.wake,
            council=config.settings.council,
        )
        self.events = EventLoop(
            EventBook(
                config,
                runtime.ledger,
                self.trail,
                self.schedules,
                self.seats,
                bot_version=self.book.bot_version,
                wake=self.wake,
                secret=self._secret,
            ),
            runtime.paths.home,
            active=lambda: not self._standby.is_set(),
        )
        self.store = ScheduleStore(self.engine, self._on_due, gate=self._still_active)
        self.env = child_environment(runtime, env)
        self.dispatcher = self._dispatcher()
        self.ended_count = 0  # runs that ended while this service ran
        self.recent: deque[RunRecord] = deque(maxlen=200)  # the last of them, newest last
        self._on_run_ended = on_run_ended
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._standby = threading.Event()  #: the lock was lost: waiting to take it again
        self._thread: threading.Thread | None = None
        self._unrecorded: list[tuple[Job, datetime]] = []
        self._unrecorded_lock = threading.Lock()

    def _secret(self, name: str) -> str:
        """A secret a trigger signs in with (a mailbox's password), kept out of every log."""
        value = self.runtime.secrets.get(name)
        self.runtime.redactor.add_secret(value)
        return value

    def _dispatcher(self) -> Dispatcher:
        settings = self.schedules.settings
        if settings.dispatch == "procrastinate":
            from scheduler.dispatch.procrastinate import ProcrastinateDispatcher, make_app

            url = settings.procrastinate_url or self.runtime.config.ledger_url
            return ProcrastinateDispatcher(
                make_app(url),
                self.runtime.ledger.runs,
                self.trail,
                self.seats,
                on_finished=self._run_ended,
                stalled_seconds=settings.stalled_job_seconds,
            )
        from scheduler.dispatch.local import LocalDispatcher

        return LocalDispatcher(
            self.runtime.ledger.runs,
            self.trail,
            self.seats,
            env=self.env,
            work_dir=self.runtime.paths.data / "scheduler",
            max_concurrent=settings.max_concurrent_runs,
            kill_grace=settings.kill_grace_seconds,
            redact=self.runtime.redactor.redact,
            on_finished=self._run_ended,
            handover=self.runtime.handover,
            cwd=self.runtime.paths.home,
            fork_server=settings.fork_server,
        )

    # -- life cycle -------------------------------------------------------------------------
    def start(self, *, standby: bool = False) -> StartupReport:
        """Take the store's lock (``standby``: wait for it), catch up, sync, start firing."""
        self.lock.acquire(wait=standby)
        try:
            self.store.start()
            self.trail.emit(
                "scheduler.start",
                detail={
                    "pid": os.getpid(),
                    "store": make_url(self.store_url).render_as_string(hide_password=True),
                    "schedules": len(self.schedules.active),
                    "dispatch": self.schedules.settings.dispatch,
                },
            )
            report = StartupReport(plan=SyncPlan())
            for fired in catch_up(self.store, self.book):
                report.missed += fired.missed
                report.caught_up += fired.queued
            report.plan = self.sync(actor="scheduler")
            adopt = getattr(self.dispatcher, "adopt", None)
            if callable(adopt):
                report.adopted = list(adopt())
            self.notifications.start()
            self.store.resume()
            self.events.start()
            self._thread = threading.Thread(
                target=self._loop, name="borough-scheduler", daemon=True
            )
            self._thread.start()
        except BaseException:
            self.store.shutdown()
            self.lock.release()
            raise
        logger.bind(action="scheduler.start").info(
            "scheduler started: {} schedule(s), {} missed fire record(s), {} catch-up run(s)",
            len(self.schedules.active),
            len(report.missed),
            len(report.caught_up),
        )
        return report

    def serve(self, until: Callable[[], bool] | None = None, poll: float = 0.5) -> None:
        """Block until :meth:`request_stop` (a signal) or ``until()`` says so."""
        while not self._stop.wait(poll):
            if until is not None and until():
                break

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop(self, *, stop_runs: bool = True) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.events.stop()
        self.store.shutdown()
        self.dispatcher.shutdown(stop_runs=stop_runs)
        self.notifications.drain(timeout=15)
        self.notifications.close()
        self.trail.emit("scheduler.stop", detail={"runs_ended": self.ended_count})
        self.lock.release()
        self.engine.dispose()
        logger.bind(action="scheduler.stop").info("scheduler stopped")

    def wake(self) -> None:
        self._wake.set()

    # -- operator actions (in this process) -------------------------------------------------
    def sync(
        self, *, actor: str, schedules: Schedules | None = None, offline: bool = False
    ) -> SyncPlan:
        """Make the store match ``schedules``, and take bot configs and seat limits afresh.

        ``offline`` (no scheduler runs): a changed or removed schedule's fires that fell due
        meanwhile are recorded as MISSED now, under the trigger that produced them, since
        that trigger is about to go. Nothing is queued; the due fires of unchanged
        schedules stay in the store for the next start to account for (and report).
        """
        if schedules is not None:
            self.schedules = schedules
            self.book.schedules = schedules
        self.reload_config()
        config = self.runtime.config
        plan = self.store.plan(self.schedules, config)
        if offline:
            for name in [*plan.changed, *plan.removed]:
                reports = catch_up(self.store, self.book, only=name, missed_reason=OFFLINE_MISSED)
                plan.missed += [run for report in reports for run in report.missed]
        self.store.apply(plan, self.schedules, config)
        self.events.configure(self.schedules)
        if not plan.empty:
            self.trail.bind(actor=actor).emit(
                "schedule.synced",
                detail={
                    "added": plan.added,
                    "changed": {name: plan.details[name] for name in plan.changed},
                    "removed": plan.removed,
                    "missed_recorded": len(plan.missed),
                },
            )
        return plan

    def reload_config(self) -> None:
        """``apps.yaml`` again (seat limits), and bot configs re-read at the next fire."""
        self.runtime.config.reload()
        self.seats.reload()

    def apply_request(self, request: Request, *, offline: bool = False) -> str:
        """Carry out an operator's request; ``offline``: in the operator's own process,
        with no scheduler running, so record due fires but never queue a run."""
        trail = self.trail.bind(actor=request.actor)
        name = request.schedule
        if request.verb == "sync":
            schedules = load_schedules(self.runtime.config)
            plan = self.sync(actor=request.actor, schedules=schedules, offline=offline)
            return describe_plan(plan)
        assert name is not None
        if name not in self.store.jobs():
            raise LookupError(f"no schedule named {name!r} in the store")
        if request.verb == "pause":
            if offline:
                catch_up(self.store, self.book, only=name, missed_reason=OFFLINE_PAUSED)
            else:
                catch_up(self.store, self.book, only=name, skip_missed=True)
            self.store.pause(name)
            trail.emit("schedule.paused", detail={"schedule": name})
            return f"{name} paused"
        next_fire = self.store.resume_job(name)
        trail.emit(
            "schedule.resumed",
            detail={"schedule": name, "next_fire": next_fire.isoformat() if next_fire else None},
        )
        return f"{name} resumed; next fire {next_fire}"

    # -- internals --------------------------------------------------------------------------
    def _on_due(self, job: Job, run_times: list[datetime]) -> None:
        """APScheduler's thread: record the fires (ledger + audit) before it moves the job on."""
        try:
            fire_job(job, self.book, run_times[-1])
        except Exception:
            logger.bind(action="schedule.unrecorded").exception(
                "could not record the fire of {} due {}; retrying", job.id, run_times[-1]
            )
            with self._unrecorded_lock:
                self._unrecorded.append((job, run_times[-1]))

    def _retry_unrecorded(self) -> None:
        with self._unrecorded_lock:
            pending, self._unrecorded = self._unrecorded, []
        for job, last_due in pending:
            try:
                fire_job(job, self.book, last_due)
            except Exception as exc:
                logger.bind(action="schedule.unrecorded").warning("still cannot record: {}", exc)
                with self._unrecorded_lock:
                    self._unrecorded.append((job, last_due))

    def _run_ended(self, record: RunRecord) -> None:
        self.ended_count += 1
        self.recent.append(record)
        self.notifications.run_ended(record)
        self._wake.set()
        if self._on_run_ended is not None:
            self._on_run_ended(record)

    def _handle_requests(self) -> None:
        for request in self.requests.pending():
            try:
                outcome = self.apply_request(request)
            except Exception as exc:
                self.requests.done(request.id, ok=False, outcome=str(exc))
            else:
                self.requests.done(request.id, ok=True, outcome=outcome)

    def _reap(self) -> None:
        runs = self.runtime.ledger.runs
        ours = set(self.dispatcher.running())
        settings = self.runtime.config.settings.ledger
        for reaped in reap_dead_runs(runs, self.trail, settings, by="scheduler"):
            if reaped.run.id not in ours:
                self._run_ended(runs.get(reaped.run.id))

    # -- the lock ----------------------------------------------------------------------------
    def _still_active(self) -> bool:
        """Whether this scheduler may fire: it proves it still holds the store's lock."""
        if self._standby.is_set():
            return False
        if self.lock.held():
            return True
        if not self._standby.is_set():
            self._standby.set()
            self._wake.set()
            logger.bind(action="scheduler.standby").error(
                "lost the schedule store's lock (its database connection failed); standing "
                "by: no fire, dispatch or operator request until this scheduler holds it again"
            )
        return False

    def _stand_by(self) -> None:
        """Stop firing, wait for the lock as a ``--standby`` scheduler does, then catch up
        (fires recorded meanwhile by the scheduler that took over are skipped) and go on."""
        self.store.pause_firing()
        self.trail.emit("scheduler.standby", outcome="lock_lost", detail={"pid": os.getpid()})
        self.lock.release()
        if not self.lock.acquire(wait=True, stop=self._stop.is_set):
            return
        try:
            self.book.forget()
            caught = catch_up(self.store, self.book)
            adopt = getattr(self.dispatcher, "adopt", None)
            if callable(adopt):
                adopt()
        except Exception:
            logger.bind(action="scheduler.error").exception("cannot take up the work again")
            self.lock.release()
            time.sleep(1)
            return
        self._standby.clear()
        self.store.resume()
        self.trail.emit(
            "scheduler.active",
            detail={"pid": os.getpid(), "caught_up": sum(len(r.queued) for r in caught)},
        )
        logger.bind(action="scheduler.active").warning(
            "holds the schedule store's lock again: active"
        )

    def _loop(self) -> None:
        last_requests = last_reap = last_lock = 0.0
        look = True
        while not self._stop.is_set():
            woke = self._wake.wait(self.schedules.settings.tick_seconds)
            self._wake.clear()
            if self._stop.is_set():
                break
            now = time.monotonic()
            if now - last_lock >= LOCK_CHECK_SECONDS or self._standby.is_set():
                last_lock = now
                if not self._still_active():
                    self._stand_by()
                    continue
            try:
                if now - last_requests >= REQUEST_POLL_SECONDS:
                    self._handle_requests()
                    last_requests, look = now, True
                self._retry_unrecorded()
                self.anchors.tick()
                self.dispatcher.tick(look_for_work=look or woke)
                look = False
                if now - last_reap >= REAP_SECONDS:
                    self._reap()
                    last_reap, look = now, True
            except Exception:
                logger.bind(action="scheduler.error").exception("scheduler loop error; going on")
                time.sleep(1)


def describe_plan(plan: SyncPlan) -> str:
    parts = [
        f"{len(plan.added)} added",
        f"{len(plan.changed)} changed",
        f"{len(plan.removed)} removed",
        f"{len(plan.unchanged)} unchanged",
    ]
    if plan.missed:
        parts.append(f"{len(plan.missed)} missed fire(s) of changed schedules recorded")
    return ", ".join(parts)
