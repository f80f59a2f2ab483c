"""What every machine of an installation is doing, read from the shared ledger.

For ``borough status`` and the dashboard's Runners page: the runner machines (their
``borough_runners`` rows: queues, heartbeat), the runs RUNNING on each host with the seats
they hold, and, when the run queue lives in the same PostgreSQL, how many jobs wait in each
procrastinate queue. Everything is derived from tables every machine shares, so any
machine (or the dashboard) shows the whole installation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from borough.ledger import RunRecord, RunStatus
from borough.ledger.runners import Runner
from borough.ledger.seats import SeatHolder
from borough.ledger.store import Ledger
from borough.ledger.times import utcnow

#: a runner whose heartbeat is older than this many beats is shown as silent
SILENT_AFTER_BEATS = 3
#: the interval of a runner that did not record its own (scheduler.worker_heartbeat_seconds'
#: default; workers record theirs in ``borough_runners.beat_seconds``)
DEFAULT_BEAT_SECONDS = 10.0

QUEUE_DEPTH = """
SELECT queue_name, status, count(*) AS jobs FROM procrastinate_jobs
 WHERE status IN ('todo', 'doing') GROUP BY queue_name, status
"""


@dataclass
class HostStatus:
    """One machine: its runner row (None for a host that only runs manual runs)."""

    host: str
    runner: Runner | None = None
    runs: list[RunRecord] = field(default_factory=list)
    seats: list[SeatHolder] = field(default_factory=list)

    def state(self, now: datetime, beat_seconds: float | None = None) -> str:
        """``alive``, ``silent Ns`` (three of its beats missed), ``stopped``, ...; judged by
        the interval the runner recorded, unless ``beat_seconds`` overrides it."""
        if self.runner is None:
            return "manual runs" if self.runs else "-"
        if self.runner.stopped_at is not None:
            return "stopped"
        silent = self.runner.silent_seconds(now)
        return (
            f"silent {silent:.0f}s"
            if silent > self.beat(beat_seconds) * SILENT_AFTER_BEATS
            else "alive"
        )

    def beat(self, override: float | None = None) -> float:
        """The heartbeat interval this host's runner is judged by."""
        recorded = self.runner.beat_seconds if self.runner else None
        return override or recorded or DEFAULT_BEAT_SECONDS


@dataclass
class FleetStatus:
    now: datetime
    hosts: list[HostStatus]
    #: ``{queue: {"todo": n, "doing": n}}``; None when the run queue is not in this database
    queues: dict[str, dict[str, int]] | None


def fleet_status(ledger: Ledger) -> FleetStatus:
    """Every runner and every host with RUNNING runs, with their runs and seats."""
    hosts: dict[str, HostStatus] = {}
    for runner in ledger.runners.list():
        hosts[runner.host] = HostStatus(runner.host, runner)
    for run in ledger.runs.list(statuses=[RunStatus.RUNNING], limit=10_000):
        hosts.setdefault(run.host, HostStatus(run.host)).runs.append(run)
    for seat in ledger.runs.seat_holders():
        hosts.setdefault(seat.host, HostStatus(seat.host)).seats.append(seat)
    return FleetStatus(utcnow(), sorted(hosts.values(), key=lambda h: h.host), _queues(ledger))


def _queues(ledger: Ledger) -> dict[str, dict[str, int]] | None:
    engine: Engine = ledger.engine
    if engine.dialect.name != "postgresql":
        return None
    try:
        with engine.connect() as conn:
            present = conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar()
            if present is None:
                return None
            rows = conn.execute(text(QUEUE_DEPTH)).all()
    except SQLAlchemyError:
        return None
    depth: dict[str, dict[str, int]] = {}
    for queue, status, jobs in rows:
        depth.setdefault(str(queue), {"todo": 0, "doing": 0})[str(status)] = int(jobs)
    return depth
