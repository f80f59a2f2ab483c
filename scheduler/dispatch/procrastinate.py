"""Scale-out dispatch: runs deferred as procrastinate jobs, run by `borough serve worker`.

The active scheduler defers each QUEUED run as a ``borough.run`` job (DESIGN invariant 7):

* **queue** = the capability a worker must have: the schedule's ``queue:`` (e.g.
  ``host:runner-2``), else ``app:<the bot's first app>``, else ``borough``;
* **lock** = the licence seat: ``seat:<app>`` for an app with ``max_sessions: 1``, or one of
  ``seat:<app>:1..N`` (the least used) for N seats. procrastinate never runs two jobs
  with the same lock at once, across all workers and queues;
* **queueing lock** = the run id, so a run is never deferred twice.

A worker that dies leaves its job "doing" (and its seat locked): the scheduler retries
stalled jobs, and the retried job frees the seat once the ledger shows the run ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loguru import logger

from borough.audit.trail import AuditTrail
from borough.ledger import RunBook, RunRecord, RunStatus
from scheduler.dispatch.base import LIVE_TRIGGERS, Dispatcher, QueuedRun
from scheduler.errors import DispatchError, SchedulerError
from scheduler.seats import SeatBook

if TYPE_CHECKING:
    from procrastinate import App

TASK = "borough.run"
SCHEMA_WAIT_SECONDS = 30.0  #: for another machine applying procrastinate's schema
STALLED_CHECK_SECONDS = 30.0  #: at most this long between looks for stalled jobs

SEAT_USE = """
SELECT lock, count(*) AS used FROM procrastinate_jobs
 WHERE status IN ('todo', 'doing') AND lock LIKE %(prefix)s GROUP BY lock
"""


def postgres_conninfo(url: str) -> str:
    """procrastinate wants a libpq URL (``postgresql://``), not a SQLAlchemy one."""
    if not url.startswith(("postgresql", "postgres")):
        raise SchedulerError(
            f"procrastinate dispatch needs PostgreSQL; {url.split(':', 1)[0]} given "
            "(set scheduler.procrastinate_url, or put the ledger on PostgreSQL)"
        )
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if "+" in scheme or scheme == "postgres" else url


def make_app(url: str) -> App:
    try:
        from procrastinate import App, PsycopgConnector
    except ModuleNotFoundError:
        raise SchedulerError(
            "scale-out dispatch needs procrastinate: pip install 'borough[scale]'"
        ) from None
    return App(connector=PsycopgConnector(conninfo=postgres_conninfo(url)))


def ensure_schema(app: App) -> None:
    """Apply procrastinate's schema once (applying it twice is an error).

    Several machines start at once (a scheduler and its runners): one applies it, the
    others' attempts fail on the objects it created; they wait until it is there.
    """
    connector = app.connector.get_sync_connector()

    def present() -> bool:
        row = connector.execute_query_one(
            query="SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
        )
        return bool(row["present"])

    if present():
        return
    try:
        app.schema_manager.apply_schema()
    except Exception:  # procrastinate wraps the database's error in its own
        deadline = time.monotonic() + SCHEMA_WAIT_SECONDS
        while not present():
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def queue_for(run: QueuedRun, seats: SeatBook) -> str:
    if run.queue:
        return run.queue
    limited = [app for app in run.apps if app in seats.limits]
    candidates = limited or list(run.apps)
    return f"app:{candidates[0]}" if candidates else "borough"


class ProcrastinateDispatcher(Dispatcher):
    def __init__(
        self,
        app: App,
        runs: RunBook,
        trail: AuditTrail,
        seats: SeatBook,
        *,
        on_finished: Callable[[RunRecord], None],
        stalled_seconds: float = 60.0,
    ) -> None:
        self.app = app
        self.stalled_seconds = stalled_seconds
        self.runs = runs
        self.trail = trail
        self.seats = seats
        self.on_finished = on_finished
        self._watching: set[str] = set()
        self._opened = False
        self._last_stalled_check = 0.0

    # -- the Dispatcher interface -------------------------------------------------------
    def tick(self, *, look_for_work: bool) -> None:
        self._open()
        if look_for_work:
            for run in self._queued():
                self._defer(run)
            self._check_finished()
        now = datetime.now(UTC).timestamp()
        if now - self._last_stalled_check >= min(STALLED_CHECK_SECONDS, self.stalled_seconds / 2):
            self._last_stalled_check = now
            self.retry_stalled()

    def running(self) -> list[str]:
        return []  # runs execute on workers, which supervise them

    def shutdown(self, *, stop_runs: bool) -> None:
        """Runs belong to the workers and go on; only the connection closes."""
        if self._opened:
            self.app.close()
            self._opened = False

    # -- start-up -------------------------------------------------------------------------
    def adopt(self) -> list[str]:
        """Watch runs deferred by an earlier scheduler, to report how they end."""
        self._open()
        live = self.runs.list(statuses=[RunStatus.QUEUED, RunStatus.RUNNING], limit=10_000)
        found = [r.id for r in live if r.detail.get("deferred_job") is not None]
        self._watching.update(found)
        return found

    # -- internals ------------------------------------------------------------------------
    def _open(self) -> None:
        if not self._opened:
            self.app.open()
            ensure_schema(self.app)
            self._opened = True

    def _queued(self) -> list[QueuedRun]:
        records = self.runs.list(statuses=[RunStatus.QUEUED], limit=1000)
        fresh = [
            QueuedRun.from_record(r)
            for r in records
            if r.trigger.startswith(LIVE_TRIGGERS) and r.detail.get("deferred_job") is None
        ]
        return sorted(fresh, key=lambda run: run.order)

    def seat_lock(self, run: QueuedRun) -> str | None:
        limited = [app for app in run.apps if app in self.seats.limits]
        if not limited:
            return None
        if len(limited) > 1:
            raise DispatchError(
                f"bot {run.bot} uses {len(limited)} apps with licence seats "
                f"({', '.join(limited)}); scale-out dispatch can hold one seat per run: list "
                "one of them under the bot's apps (e.g. read a file instead of downloading), "
                "or run this bot from a scheduler with local dispatch"
            )
        app = limited[0]
        seats = self.seats.limits[app]
        if seats == 1:
            return f"seat:{app}"
        rows = self.app.connector.get_sync_connector().execute_query_all(
            query=SEAT_USE, prefix=f"seat:{app}:%"
        )
        used = {row["lock"]: row["used"] for row in rows}
        slots = [f"seat:{app}:{n}" for n in range(1, seats + 1)]
        return min(slots, key=lambda slot: used.get(slot, 0))

    def _defer(self, run: QueuedRun) -> None:
        from procrastinate.exceptions import AlreadyEnqueued

        bound = self.trail.bind(run_id=run.run_id, bot=run.bot)
        try:
            lock = self.seat_lock(run)
        except DispatchError as exc:
            refused = str(exc)
            self.runs.finish(
                run.run_id,
                RunStatus.FAILED,
                error=refused,
                audit=lambda: bound.emit("run.failed", outcome="failed", error=refused),
            )
            self.on_finished(self.runs.get(run.run_id))
            return
        queue = queue_for(run, self.seats)
        options: dict[str, Any] = {"queue": queue, "queueing_lock": run.run_id}
        if lock:
            options["lock"] = lock
        job_id: int | str
        try:
            job_id = self.app.configure_task(TASK, priority=run.priority, **options).defer(
                run_id=run.run_id
            )
        except AlreadyEnqueued:
            job_id = "already deferred"
        self.runs.update_detail(
            run.run_id,
            deferred_job=job_id,
            queue=queue,
            seat_lock=lock,
            audit=lambda: bound.emit(
                "run.deferred", detail={"job": job_id, "queue": queue, "lock": lock}
            ),
        )
        self._watching.add(run.run_id)
        logger.bind(action="run.deferred", run_id=run.run_id).info(
            "run {} deferred to queue {} (lock {})", run.run_id, queue, lock
        )

    def _check_finished(self) -> None:
        for run_id in list(self._watching):
            record = self.runs.get(run_id)
            if record.status.finished:
                self._watching.discard(run_id)
                self.on_finished(record)

    def retry_stalled(self) -> list[int]:
        """Hand jobs of dead workers to live ones; they free the seat once the run is over."""
        from procrastinate import sql

        rows = self.app.connector.get_sync_connector().execute_query_all(
            query=sql.queries["select_stalled_jobs_by_heartbeat"],
            seconds_since_heartbeat=self.stalled_seconds,
            queue=None,
            task_name=TASK,
        )
        retried = []
        for row in rows:
            self.app.job_manager.retry_job_by_id(row["id"], retry_at=datetime.now(UTC))
            self.trail.emit("run.worker_lost", outcome="retried", detail={"job": row["id"]})
            retried.append(int(row["id"]))
        return retried
