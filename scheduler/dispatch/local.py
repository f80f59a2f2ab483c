"""Local dispatch: each run in its own subprocess on this machine (the embedded default).

The concurrency cap is checked in the service thread; a run's licence seats are taken in
the ledger (atomically, all or none) just before its process starts, so a dispatched run
never waits for a seat and no two runs anywhere hold the same one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from loguru import logger

from borough.audit.trail import AuditTrail
from borough.forkserver import ForkServer
from borough.ledger import RunBook, RunRecord, RunStatus
from borough.ledger.runs import process_alive
from borough.ledger.seats import SeatHolder
from borough.secrets.passphrase import FD_ENV, Handover
from scheduler.dispatch.base import LIVE_TRIGGERS, Dispatcher, QueuedRun
from scheduler.dispatch.child import Child, Redact, enforce_deadline, settle
from scheduler.seats import SeatBook

QUEUE_SCAN_LIMIT = 1000
FORK_RETRY_SECONDS = 60.0


class LocalDispatcher(Dispatcher):
    def __init__(
        self,
        runs: RunBook,
        trail: AuditTrail,
        seats: SeatBook,
        *,
        env: Mapping[str, str],
        work_dir: Path,
        max_concurrent: int,
        kill_grace: float,
        redact: Redact,
        on_finished: Callable[[RunRecord], None],
        handover: Handover,
        cwd: Path | None = None,
        fork_server: bool = False,
    ) -> None:
        self.runs = runs
        self.trail = trail
        self.seats = seats
        self.env = dict(env)
        self.work_dir = work_dir
        self.cwd = cwd
        self.max_concurrent = max_concurrent
        self.kill_grace = kill_grace
        self.redact = redact
        self.on_finished = on_finished
        self.handover = handover
        self.children: dict[str, Child] = {}
        self._waiting: dict[str, str] = {}  # run id -> reason already recorded
        self.forkserver: ForkServer | None = None
        self._fork_retry_at = 0.0  # a server that died is started again, at most once a minute
        if fork_server:  # started by the first tick of a running service (not by operators)
            clean = {k: v for k, v in self.env.items() if k not in (handover.env_name, FD_ENV)}
            self.forkserver = ForkServer(clean, cwd)

    # -- the Dispatcher interface -------------------------------------------------------
    def tick(self, *, look_for_work: bool) -> None:
        fork = self.forkserver
        if fork is not None and not fork.started and time.monotonic() >= self._fork_retry_at:
            self._fork_retry_at = time.monotonic() + FORK_RETRY_SECONDS
            fork.start()  # it imports in the background; runs start the ordinary way till then
        self._supervise()
        if look_for_work:
            self._start_waiting()

    def running(self) -> list[str]:
        return list(self.children)

    def shutdown(self, *, stop_runs: bool) -> None:
        try:
            self._stop_runs(stop_runs)
        finally:
            if self.forkserver is not None:
                self.forkserver.close()  # its runs go on in their own sessions

    def _stop_runs(self, stop_runs: bool) -> None:
        if not stop_runs:
            return
        for child in self.children.values():
            child.stopped = True
            child.stop(time.monotonic(), self.kill_grace)
        deadline = time.monotonic() + self.kill_grace + 5
        while self.children and time.monotonic() < deadline:
            for child in list(self.children.values()):
                child.stop(time.monotonic(), self.kill_grace)
            self._supervise()
            time.sleep(0.1)

    # -- start-up -------------------------------------------------------------------------
    def adopt(self) -> list[str]:
        """Take over runs a previous scheduler on this host started and left running."""
        adopted = []
        candidates = self.runs.list(statuses=[RunStatus.RUNNING, RunStatus.QUEUED], limit=10_000)
        for record in candidates:
            if not record.trigger.startswith(LIVE_TRIGGERS) or record.host != self.runs.host:
                continue
            pid = record.pid if record.status is RunStatus.RUNNING else None
            pid = pid or record.detail.get("dispatched_pid")
            marker = record.detail.get("dispatched_marker")
            if not pid or not process_alive(int(pid), marker):
                continue
            since = record.started_at or record.created_at
            elapsed = (datetime.now(UTC) - since).total_seconds()
            child = Child.adopt(QueuedRun.from_record(record), int(pid), marker, elapsed)
            stderr = self.work_dir / f"{record.id}.stderr"  # left by the scheduler before us
            child.stderr_file = stderr if stderr.exists() else None
            self.children[record.id] = child
            self.trail.bind(run_id=record.id, bot=record.bot).emit(
                "run.adopted", detail={"pid": pid, "running_seconds": round(elapsed)}
            )
            adopted.append(record.id)
        return adopted

    # -- internals ------------------------------------------------------------------------
    def _supervise(self) -> None:
        now = time.monotonic()
        for run_id, child in list(self.children.items()):
            if child.exited():
                del self.children[run_id]
                record = settle(self.runs, self.trail, child, self.redact)
                logger.bind(action="run.ended", run_id=run_id).info(
                    "run {} of {} ended {}", run_id, record.bot, record.status.value
                )
                self.on_finished(record)
            else:
                enforce_deadline(child, now, self.kill_grace, self.trail)

    def _queued(self) -> list[QueuedRun]:
        records = self.runs.list(statuses=[RunStatus.QUEUED], limit=QUEUE_SCAN_LIMIT)
        waiting = [
            QueuedRun.from_record(r)
            for r in records
            if r.trigger.startswith(LIVE_TRIGGERS) and r.id not in self.children
        ]
        return sorted(waiting, key=lambda run: run.order)

    def _start_waiting(self) -> None:
        queued = self._queued()
        for run in queued:
            if len(self.children) >= self.max_concurrent:
                self._wait(run, f"a free run slot (max_concurrent_runs {self.max_concurrent})")
                continue
            busy = self.seats.take(self.runs, run.run_id, run.apps)
            if busy is not None:
                self._wait(run, f"a licence seat on {busy.app}", held_by=busy.holders)
                continue
            self._start(run)

    def _wait(self, run: QueuedRun, reason: str, held_by: tuple[SeatHolder, ...] = ()) -> None:
        if self._waiting.get(run.run_id) == reason:
            return
        self._waiting[run.run_id] = reason
        detail: dict[str, object] = {"waiting_for": reason}
        if held_by:
            detail["held_by"] = [holder.run_id for holder in held_by]
        bound = self.trail.bind(run_id=run.run_id, bot=run.bot)
        self.runs.update_detail(
            run.run_id,
            waiting_for=reason,
            audit=lambda: bound.emit("run.waiting", outcome="queued", detail=detail),
        )

    def _start(self, run: QueuedRun) -> None:
        try:
            child = Child.spawn(
                run,
                self.env,
                self.work_dir,
                handover=self.handover,
                cwd=self.cwd,
                forkserver=self.forkserver,
            )
        except OSError as exc:
            error = f"cannot start the run's process: {exc}"
            bound = self.trail.bind(run_id=run.run_id, bot=run.bot)
            self.runs.finish(
                run.run_id,
                RunStatus.FAILED,
                error=error,
                audit=lambda: bound.emit("run.failed", outcome="failed", error=error),
            )
            self.on_finished(self.runs.get(run.run_id))
            return
        self.children[run.run_id] = child
        waited = self._waiting.pop(run.run_id, None)
        bound = self.trail.bind(run_id=run.run_id, bot=run.bot)
        self.runs.update_detail(
            run.run_id,
            dispatched_pid=child.pid,
            dispatched_marker=child.marker,
            dispatched_at=datetime.now(UTC).isoformat(),
            waiting_for=None,
            waited_for=waited,
            audit=lambda: bound.emit(
                "run.dispatched", detail={"pid": child.pid, "schedule": run.schedule}
            ),
        )
