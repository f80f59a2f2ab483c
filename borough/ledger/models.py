"""States and records of the run ledger and the work-item ledger."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ItemState(enum.StrEnum):
    """Where one work item is; see DESIGN invariant 2 for the transitions."""

    PENDING = "pending"  #: recorded, waiting to be claimed
    CLAIMED = "claimed"  #: a run holds it; nothing sent to the target yet
    IN_FLIGHT = "in_flight"  #: intent recorded; the target may have been changed
    DONE = "done"  #: the target holds the change; ``reference`` is its own id
    FAILED = "failed"  #: cannot be done as it stands; ``error`` says why
    NEEDS_REVIEW = "needs_review"  #: a person must decide (recovery could not tell)
    SKIPPED = "skipped"  #: the bot decided there is nothing to do

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset(
    {ItemState.DONE, ItemState.FAILED, ItemState.NEEDS_REVIEW, ItemState.SKIPPED}
)


class RunStatus(enum.StrEnum):
    """Outcome of one run of a bot."""

    QUEUED = "queued"  #: waiting (e.g. for a licence seat)
    RUNNING = "running"  #: working items; heartbeats while alive
    SUCCEEDED = "succeeded"  #: every item ended DONE or SKIPPED
    COMPLETED_WITH_FAILURES = "completed_with_failures"  #: finished; some FAILED/NEEDS_REVIEW
    FAILED = "failed"  #: stopped by an error before finishing its items
    CRASHED = "crashed"  #: process vanished; its items were recovered by a later run
    TIMED_OUT = "timed_out"  #: killed at its maximum run time
    MISSED = "missed"  #: a scheduled fire that did not run
    DRY_RUN = "dry_run"  #: ingested and validated only; nothing touched
    CANCELLED = "cancelled"  #: stopped by an operator or shutdown

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


@dataclass
class RunCounts:
    ingested: int = 0
    already_done: int = 0
    done: int = 0
    failed: int = 0
    needs_review: int = 0
    skipped: int = 0
    retried: int = 0
    recovered: int = 0

    def add(self, state: ItemState) -> None:
        if state is ItemState.DONE:
            self.done += 1
        elif state is ItemState.FAILED:
            self.failed += 1
        elif state is ItemState.NEEDS_REVIEW:
            self.needs_review += 1
        elif state is ItemState.SKIPPED:
            self.skipped += 1


@dataclass
class RunRecord:
    id: str
    bot: str
    bot_version: str
    trigger: str
    status: RunStatus
    host: str
    pid: int | None
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    heartbeat_at: datetime | None = None
    schedule: str | None = None
    fire_time: datetime | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    error: str | None = None
    audit_seq_end: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class ItemRecord:
    """A work item as the ledger holds it; ``key``/``data`` only when unsealed."""

    id: int
    bot: str
    key_token: str
    state: ItemState
    attempt: int
    fence: int
    owner_run: str | None
    reference: str | None
    error: str | None
    source: str | None
    subjects: list[str]
    data_categories: list[str]
    created_at: datetime
    updated_at: datetime
    not_before: datetime | None = None
    first_run: str | None = None
    last_run: str | None = None
    resolution: str | None = None
    key: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class ItemData:
    """What working a claimed item needs of it (its tokens, its unsealed key and data):
    read for a batch without the columns only people look at."""

    id: int
    key_token: str
    subjects: tuple[str, ...]
    data_categories: tuple[str, ...]
    key: str | None
    data: dict[str, Any] | None
    source: str | None


@dataclass(frozen=True)
class Claim:
    """A run's hold on one item: every later write must present the same fence token."""

    item_id: int
    run_id: str
    fence: int
    attempt: int
    state: ItemState
