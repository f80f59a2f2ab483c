"""`borough worker`: take runs from procrastinate queues and run each in its own process.

The job holds its seat lock for as long as the task function runs, which is as long as
the run's process lives (or, for a run whose first worker died, until the ledger shows
it ended), so a licence seat is never shared.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from loguru import logger

from borough.host import host_name
from borough.ledger import RunStatus
from borough.reaper import reap_dead_runs
from borough.runtime import Runtime
from borough.seats import seat_limits
from scheduler.config import Schedules, load_schedules
from scheduler.dispatch.base import QueuedRun
from scheduler.dispatch.child import Child, enforce_deadline, settle
from scheduler.dispatch.procrastinate import TASK, ensure_schema, make_app
from scheduler.service import child_environment

POLL_SECONDS = 0.25


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
        """A worker died while this run went on: keep its seat until the run is over."""
        runs = self.runtime.ledger.runs
        settings = self.runtime.config.settings.ledger
        while not runs.get(run_id).status.finished:
            reap_dead_runs(runs, self.trail, settings, by=self.host)
            time.sleep(POLL_SECONDS * 4)
        return f"outlived: the run ended {runs.get(run_id).status.value}"


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
    runtime.trail.bind(actor=f"worker:{executor.host}").emit(
        "worker.start", detail={"queues": list(queues or []), "pid": os.getpid()}
    )
    try:
        app.run_worker(
            queues=list(queues) if queues else None,
            concurrency=concurrency,
            wait=not once,
            install_signal_handlers=True,
            name=f"borough@{executor.host}",
        )
    finally:
        runtime.trail.bind(actor=f"worker:{executor.host}").emit("worker.stop")
