"""`borough serve worker`: take runs from procrastinate queues and run each in its own process.

The job holds its seat lock for as long as the task function runs, which is as long as
the run's process lives (or, for a run whose first worker died, until the ledger shows
it ended), so a licence seat is never shared.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from loguru import logger
from sqlalchemy.exc import SQLAlchemyError

from borough import __version__
from borough.host import host_name
from borough.ledger import ItemState, RunRecord, RunStatus
from borough.ledger.runners import RunnerBook
from borough.reaper import reap_dead_runs
from borough.runtime import Runtime
from borough.seats import seat_limits
from scheduler.config import Schedules, load_schedules
from scheduler.dispatch.base import QueuedRun
from scheduler.dispatch.child import Child, enforce_deadline, settle
from scheduler.dispatch.procrastinate import TASK, ensure_schema, make_app
from scheduler.service import child_environment

POLL_SECONDS = 0.25
RESUME_TRIGGER = "resume:"
#: what a resuming run keeps of the crashed run's detail (what the scheduler gave it)
QUEUED_DETAIL = ("priority", "inputs", "max_run_seconds", "apps", "queue", "lead")
UNFINISHED = (ItemState.PENDING, ItemState.CLAIMED, ItemState.IN_FLIGHT)


class RunExecutor:
    """What the ``borough.run`` task does on a worker."""

    def __init__(self, runtime: Runtime, schedules: Schedules) -> None:
        self.runtime = runtime
        self.settings = schedules.settings
        self.env = child_environment(runtime, None)
        self.host = host_name()
        self.trail = runtime.trail.bind(actor=f"worker:{self.host}")

    def __call__(self, run_id: str) -> str:
        runs = self.runtime.ledger.runs
        record = runs.get(run_id)
        if record.status is RunStatus.RUNNING:
            return self._outlive(run_id)
        if record.status is RunStatus.CRASHED:  # a retried job whose run was reaped already
            resumed = self._resume(record)
            if resumed is not None:
                return f"not run: the run crashed; {resumed} resumes its work"
        if record.status is not RunStatus.QUEUED:
            return f"not run: the run is {record.status.value}"
        run = QueuedRun.from_record(record)
        self._take_seats(run)
        child = Child.spawn(
            run,
            self.env,
            self.runtime.paths.data / "worker",
            handover=self.runtime.handover,
            cwd=self.runtime.paths.home,
        )
        runs.update_detail(
            run_id,
            dispatched_pid=child.pid,
            dispatched_marker=child.marker,
            dispatched_at=datetime.now(UTC).isoformat(),
            worker=self.host,
            audit=lambda: self.trail.bind(run_id=run_id, bot=run.bot).emit(
                "run.dispatched", detail={"pid": child.pid, "worker": self.host}
            ),
        )
        while not child.exited():
            enforce_deadline(child, time.monotonic(), self.settings.kill_grace_seconds, self.trail)
            time.sleep(POLL_SECONDS)
        final = settle(runs, self.trail, child, self.runtime.redactor.redact)
        logger.bind(action="run.ended", run_id=run_id).info("run {} ended {}", run_id, final.status)
        return final.status.value

    def _take_seats(self, run: QueuedRun) -> None:
        """Hold the run's seats in the ledger before its process starts.

        procrastinate's lock already keeps other scheduled runs off the seat; a manual run
        (or one of another scheduler) may still hold it: wait here, holding the lock,
        rather than start a process that would only wait.
        """
        runs = self.runtime.ledger.runs
        limits = seat_limits(self.runtime.config, run.apps)
        announced: str | None = None
        while (busy := runs.take_seats(run.run_id, limits)) is not None:
            if busy.message() != announced:
                announced = busy.message()
                self.trail.bind(run_id=run.run_id, bot=run.bot).emit(
                    "run.waiting",
                    outcome="queued",
                    detail={
                        "waiting_for": f"a licence seat on {busy.app}",
                        "held_by": [holder.run_id for holder in busy.holders],
                    },
                )
            reap_dead_runs(runs, self.trail, self.runtime.config.settings.ledger, by=self.host)
            time.sleep(POLL_SECONDS * 4)

    def _outlive(self, run_id: str) -> str:
        """A worker died while this run went on: keep its seat until the run is over.

        If the run died with it (reaped CRASHED) and its bot still has work, a run that
        resumes it is queued (trigger ``resume:<run id>``); the scheduler dispatches it like
        any other, and it adopts the dead run's items by the ledger's rules.
        """
        runs = self.runtime.ledger.runs
        settings = self.runtime.config.settings.ledger
        while not runs.get(run_id).status.finished:
            reap_dead_runs(runs, self.trail, settings, by=self.host)
            time.sleep(POLL_SECONDS * 4)
        ended = runs.get(run_id)
        if ended.status is RunStatus.CRASHED:
            resumed = self._resume(ended)
            if resumed is not None:
                return f"outlived: the run crashed; {resumed} resumes its work"
        return f"outlived: the run ended {ended.status.value}"

    def _resume(self, crashed: RunRecord) -> str | None:
        """Queue a run that resumes ``crashed``'s work, unless none is left or one exists."""
        runs, items = self.runtime.ledger.runs, self.runtime.ledger.items
        counts = items.count_by_state(bot=crashed.bot)
        if not any(counts.get(state, 0) for state in UNFINISHED):
            return None
        trigger = RESUME_TRIGGER + crashed.id
        live = runs.list(bot=crashed.bot, statuses=[RunStatus.QUEUED, RunStatus.RUNNING])
        if any(run.trigger == trigger for run in live):
            return None
        keep = {k: v for k, v in crashed.detail.items() if k in QUEUED_DETAIL}
        record = runs.create(
            crashed.bot,
            crashed.bot_version,
            trigger=trigger,
            status=RunStatus.QUEUED,
            schedule=crashed.schedule,
            fire_time=crashed.fire_time,
            detail={**keep, "resumes": crashed.id},
            audit=lambda run: self.trail.bind(run_id=run.id, bot=run.bot).emit(
                "run.queued", outcome="queued", detail={"resumes": crashed.id}
            ),
        )
        return record.id


def run_worker(
    runtime: Runtime,
    *,
    queues: Sequence[str] | None = None,
    concurrency: int = 1,
    once: bool = False,
) -> None:
    """Serve ``queues`` (all when none) until SIGTERM/SIGINT, or until idle with ``once``."""
    schedules = load_schedules(runtime.config)
    url = schedules.settings.procrastinate_url or runtime.config.ledger_url
    app = make_app(url)
    executor = RunExecutor(runtime, schedules)

    def run_deferred(run_id: str) -> str:
        return executor(run_id)

    app.task(name=TASK, pass_context=False)(run_deferred)
    with app.open():
        ensure_schema(app)
    settings = schedules.settings
    presence = RunnerPresence(
        runtime.ledger.runners,
        executor.host,
        queues=list(queues or []),
        concurrency=concurrency,
        interval=settings.worker_heartbeat_seconds,
    )
    runtime.trail.bind(actor=f"worker:{executor.host}").emit(
        "worker.start", detail={"queues": list(queues or []), "pid": os.getpid()}
    )
    presence.start()
    try:
        app.run_worker(
            queues=list(queues) if queues else None,
            concurrency=concurrency,
            wait=not once,
            install_signal_handlers=True,
            name=f"borough@{executor.host}",
            update_heartbeat_interval=settings.worker_heartbeat_seconds,
            stalled_worker_timeout=settings.stalled_job_seconds,
        )
    finally:
        presence.stop()
        runtime.trail.bind(actor=f"worker:{executor.host}").emit("worker.stop")


class RunnerPresence(threading.Thread):
    """This machine's row in ``borough_runners``, renewed while the worker lives.

    A renewal that fails (PostgreSQL unreachable) is retried at the next beat; the row is
    what ``borough status`` shows, never what decides who owns a run or an item.
    """

    def __init__(
        self,
        book: RunnerBook,
        host: str,
        *,
        queues: list[str],
        concurrency: int,
        interval: float,
    ) -> None:
        super().__init__(name="runner-presence", daemon=True)
        self.book, self.host, self.interval = book, host, interval
        self.pid = os.getpid()
        self.book.register(host, self.pid, queues, concurrency, __version__, beat_seconds=interval)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.book.beat(self.host, self.pid)
            except SQLAlchemyError as exc:
                logger.bind(action="worker.heartbeat").warning("heartbeat not recorded: {}", exc)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=self.interval + 5)
        try:
            self.book.stopped(self.host, self.pid)
        except SQLAlchemyError as exc:
            logger.bind(action="worker.stop").warning("stop not recorded: {}", exc)
