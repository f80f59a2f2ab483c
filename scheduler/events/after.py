"""``after:`` triggers: when a run of another bot ends (optionally only SUCCEEDED), start
this trigger's bot — bots form a chain (export bot → entry bot).

Each upstream run is an event keyed by its run id, so it starts at most one run. Ends
that come while this trigger's run is queued or running (or outside its window, or
within the debounce) are gathered into the next run, which lists them all. The trigger
counts ends from when it was first armed (a row kept in the events table), so ends while
no scheduler ran are caught up at the next start, and history before the trigger
existed is not.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from borough.ledger import RunStatus
from borough.ledger.schema import runs as runs_table
from scheduler.events.base import Watch
from scheduler.events.book import FINISHED, EventBook
from scheduler.events.config import AfterWatchConfig, TriggerConfig
from scheduler.events.store import DONE, Event

LOOKBACK = timedelta(days=7)  #: ends older than this (or than the arming) are not started for


class AfterWatch(Watch):
    kind = "after"

    def __init__(self, name: str, config: TriggerConfig, book: EventBook) -> None:
        super().__init__(name, config, book)
        assert config.after is not None
        self.spec: AfterWatchConfig = config.after
        self._armed: datetime | None = None

    def ended_runs(self, now: datetime) -> list[tuple[str, str, datetime]]:
        """Upstream runs ended since arming and not yet started for: (id, status, ended_at)."""
        if self._armed is None:
            self._armed = self.book.store.arm(self.name, self.kind, now)
        since = max(self._armed, now - LOOKBACK)
        statuses = [RunStatus.SUCCEEDED.value] if self.spec.succeeded_only else FINISHED
        query = (
            select(runs_table.c.id, runs_table.c.status, runs_table.c.ended_at)
            .where(runs_table.c.bot == self.spec.bot, runs_table.c.status.in_(statuses))
            .where(runs_table.c.ended_at >= since)
            .order_by(runs_table.c.ended_at, runs_table.c.id)
        )
        with self.book.ledger.engine.connect() as conn:
            ended = [(row.id, row.status, row.ended_at) for row in conn.execute(query)]
        taken = self.book.store.keys(self.name, since)
        return [run for run in ended if run[0] not in taken]

    def poll(self, now: datetime) -> None:
        ended = self.ended_runs(now)
        if not ended:
            return
        newest = max(run[2] for run in ended)
        if (now - newest).total_seconds() < self.config.debounce:
            return
        if self.book.free_runs(self.name, self.config, now, waiting=len(ended)) <= 0:
            return
        events = [
            Event(key=run_id, state=DONE, detail={"status": status}) for run_id, status, _ in ended
        ]
        self.book.fire(
            self.name,
            self.config,
            events,
            detail={
                "after": self.spec.bot,
                "runs": [run_id for run_id, _, _ in ended],
                "statuses": sorted({status for _, status, _ in ended}),
            },
            now=now,
        )
