"""``queue:`` triggers: a bot's due PENDING items — at least ``pending`` of them, or the
oldest waiting ``oldest_minutes`` — start a run of the trigger's bot.

Once per condition: while a run of the trigger is queued or running nothing more is
queued; after it ends the condition must hold again for ``debounce_seconds`` (five
minutes at least after a run that did not finish its items, so a broken bot is not
started in a loop).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from borough.ledger import ItemState, RunStatus
from borough.ledger.schema import items as items_table
from scheduler.events.base import Watch
from scheduler.events.book import EventBook
from scheduler.events.config import QueueWatchConfig, TriggerConfig

AFTER_FAILURE_SECONDS = 300.0
OK_ENDS = (RunStatus.SUCCEEDED, RunStatus.COMPLETED_WITH_FAILURES)


class QueueWatch(Watch):
    kind = "queue"

    def __init__(self, name: str, config: TriggerConfig, book: EventBook) -> None:
        super().__init__(name, config, book)
        assert config.queue is not None
        self.spec: QueueWatchConfig = config.queue
        self.source = self.spec.bot or config.bot
        self._holds_since: datetime | None = None  # when the condition was first seen true

    def due_items(self, now: datetime) -> tuple[int, datetime | None]:
        """How many PENDING items of the bot are due now, and when the oldest was recorded."""
        query = select(func.count(), func.min(items_table.c.created_at)).where(
            items_table.c.bot == self.source,
            items_table.c.state == ItemState.PENDING.value,
            or_(items_table.c.not_before.is_(None), items_table.c.not_before <= now),
        )
        with self.book.ledger.engine.connect() as conn:
            count, oldest = conn.execute(query).one()
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=now.tzinfo)
        return int(count), oldest

    def condition(self, now: datetime) -> tuple[bool, dict[str, object]]:
        count, oldest = self.due_items(now)
        waited = (now - oldest).total_seconds() / 60 if oldest is not None else 0.0
        enough = self.spec.pending is not None and count >= self.spec.pending
        old = (
            self.spec.oldest_minutes is not None
            and count > 0
            and waited >= self.spec.oldest_minutes
        )
        facts: dict[str, object] = {
            "items_of": self.source,
            "due_pending": count,
            "oldest_waited_minutes": round(waited, 1),
        }
        return enough or old, facts

    def poll(self, now: datetime) -> None:
        holds, facts = self.condition(now)
        if not holds:
            self._holds_since = None
            return
        if self.book.ledger.runs.list(
            bot=self.config.bot, statuses=[RunStatus.QUEUED, RunStatus.RUNNING], limit=1
        ):
            self._holds_since = None  # a run of the bot is on its way: it works these items
            return
        if self._holds_since is None:
            self._holds_since = now
        start, debounce = self._holds_since, self.config.debounce
        last = self.book.last_run(self.name)
        if last is not None and last.ended_at is not None:
            start = max(start, last.ended_at)  # a new occurrence counts from the last run's end
            if last.status not in OK_ENDS:
                debounce = max(debounce, AFTER_FAILURE_SECONDS)
        if (now - start).total_seconds() < debounce:
            return
        if self.book.free_runs(self.name, self.config, now, waiting=1) <= 0:
            return
        self.book.fire(self.name, self.config, [], detail=facts, now=now)
        self._holds_since = None
