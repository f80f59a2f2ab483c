"""Where APScheduler jobs meet the fire book.

A persistent job store can only hold a textual reference to an importable function
(never a lambda or a bound method), so every schedule's job stores
``"scheduler.jobs:fire"``; the executor calls it with the running scheduler's fire book.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scheduler.errors import SchedulerError
from scheduler.triggers import fire_times

if TYPE_CHECKING:
    from apscheduler.job import Job
    from apscheduler.triggers.base import BaseTrigger

    from scheduler.firing import FireBook, FireReport
    from scheduler.store import ScheduleStore


@dataclass(frozen=True)
class DueFires:
    """What the executor knows about a due job, passed to its stored callable."""

    book: FireBook
    trigger: BaseTrigger
    first_due: datetime
    last_due: datetime
    skip_missed: bool = False
    missed_reason: str | None = None  #: record every due fire as MISSED, queue nothing


def fire(
    schedule: str,
    bot: str,
    due: DueFires | None = None,
    settings: dict[str, Any] | None = None,
) -> FireReport:
    """Record the schedule's due fires: a queued run, or MISSED records (see firing.py).

    ``settings`` is what ``sync`` stored to compare against the file later; firing reads
    the file's current settings instead.
    """
    if due is None:
        raise SchedulerError("scheduler.jobs:fire runs only under borough's scheduler executor")
    return due.book.on_due(
        schedule,
        bot,
        due.trigger,
        due.first_due,
        due.last_due,
        skip_missed=due.skip_missed,
        missed_reason=due.missed_reason,
    )


def fire_job(
    job: Job,
    book: FireBook,
    last_due: datetime,
    *,
    skip_missed: bool = False,
    missed_reason: str | None = None,
) -> FireReport:
    """Call the job's stored callable for its fires up to ``last_due``."""
    due = DueFires(book, job.trigger, job.next_run_time, last_due, skip_missed, missed_reason)
    report: FireReport = job.func(*job.args, **job.kwargs, due=due)
    return report


def catch_up(
    store: ScheduleStore,
    book: FireBook,
    *,
    now: datetime | None = None,
    only: str | None = None,
    skip_missed: bool = False,
    missed_reason: str | None = None,
) -> list[FireReport]:
    """Account for fires that fell due while no scheduler was running, then move the jobs
    on to their next fire after ``now`` (what APScheduler would do, but reported).

    ``missed_reason`` records every due fire as MISSED with that reason and queues nothing
    (an operator command acting without a scheduler must never start work)."""
    now = now or datetime.now(UTC)
    reports = []
    for name, job in sorted(store.jobs().items()):
        if (only is not None and name != only) or job.next_run_time is None:
            continue
        if job.next_run_time.astimezone(UTC) > now:
            continue
        due = fire_times(job.trigger, job.next_run_time, now)
        reports.append(
            fire_job(job, book, due[-1], skip_missed=skip_missed, missed_reason=missed_reason)
        )
        store.set_next_fire(name, job.trigger.get_next_fire_time(due[-1], now))
    return reports
