"""Run the scheduler in this process for a while and sum up what happened (the demo).

``run_for(runtime, schedules_file=..., minutes=3, until_runs=4)`` starts a scheduler
on ``runtime``'s installation with the given schedules, lets it fire for ``minutes`` or
until ``until_runs`` runs have ended, stops it (running runs are stopped cleanly) and
returns a :class:`SessionSummary` built from the ledger.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from borough import logconfig
from borough.ledger import RunRecord, RunStatus
from borough.runtime import Runtime
from scheduler import LIBRARY_LOGGERS
from scheduler.config import load_schedules
from scheduler.service import SchedulerService, StartupReport


@dataclass
class SessionSummary:
    started_at: datetime
    ended_at: datetime
    startup: StartupReport
    runs: list[RunRecord] = field(
        default_factory=list
    )  # every run of these schedules, oldest first
    notices_sent: int = 0

    @property
    def by_status(self) -> Counter[str]:
        return Counter(run.status.value for run in self.runs)

    @property
    def finished(self) -> list[RunRecord]:
        return [r for r in self.runs if r.status.finished and r.status is not RunStatus.MISSED]

    def lines(self) -> list[str]:
        """A plain-text summary (no personal data: counts, statuses, run ids)."""
        seconds = (self.ended_at - self.started_at).total_seconds()
        out = [f"scheduler ran {seconds:.0f}s: {len(self.runs)} run record(s)"]
        out += [f"  {status}: {count}" for status, count in sorted(self.by_status.items())]
        done = sum(r.counts.done for r in self.runs)
        failed = sum(r.counts.failed for r in self.runs)
        out.append(f"  items done {done}, failed {failed}")
        if self.notices_sent:
            out.append(f"  notices sent {self.notices_sent}")
        return out


def run_for(
    runtime: Runtime,
    *,
    schedules_file: Path | None = None,
    minutes: float = 3.0,
    until_runs: int | None = None,
    env: Mapping[str, str] | None = None,
    on_run_ended: Callable[[RunRecord], None] | None = None,
    run_now: Iterable[str] = (),
    actor: str = "demo",
    until: Callable[[], bool] | None = None,
) -> SessionSummary:
    """Run a scheduler in-process on ``runtime``'s installation; see the module docstring.

    ``env`` is added to what run processes inherit (a secrets passphrase in it is dropped:
    runs get ``runtime``'s through a pipe). ``run_now`` names schedules to run once at the
    start (so a demo need not wait for the first fire), queued as ``actor``. ``until`` ends
    the session early when it returns true (checked a few times a second). Logging must
    already be configured (``borough.logconfig.configure``), as for any entry point.
    """
    logconfig.route_stdlib(LIBRARY_LOGGERS)
    schedules = load_schedules(runtime.config, schedules_file)
    service = SchedulerService(runtime, schedules=schedules, env=env, on_run_ended=on_run_ended)
    started = datetime.now(UTC)
    deadline = time.monotonic() + minutes * 60
    startup = service.start()
    try:
        for name in run_now:
            service.book.run_now(name, actor)
        service.serve(
            lambda: (
                time.monotonic() >= deadline
                or (until_runs is not None and service.ended_count >= until_runs)
                or (until is not None and until())
            ),
            poll=0.2,
        )
    finally:
        service.stop(stop_runs=True)
    names = set(schedules.entries)
    runs = [
        run
        for run in runtime.ledger.runs.list(since=started, limit=10_000)
        if run.schedule in names
    ]
    return SessionSummary(
        started_at=started,
        ended_at=datetime.now(UTC),
        startup=startup,
        runs=sorted(runs, key=lambda r: (r.created_at, r.id)),
        notices_sent=service.notifications.sent,
    )
