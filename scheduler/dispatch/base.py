"""Where runs execute: a dispatcher takes QUEUED runs from the ledger and runs them.

The ledger is the queue: a fire (or ``run-now``) records a QUEUED run with everything
needed to start it in ``detail``; a dispatcher starts it when seats allow and supervises
it until it ends. Implementations: :mod:`.local` (a subprocess per run, on this machine)
and :mod:`.procrastinate` (jobs on PostgreSQL queues, run by ``borough serve worker``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from borough.ledger import RunRecord

DEFAULT_PRIORITY = 5
#: triggers of QUEUED runs a dispatcher starts: a fire, an operator's run-now, one more part
#: of a fire with ``runs: N``, a run resuming the work of a crashed one
LIVE_TRIGGERS = ("schedule:", "run-now:", "part:", "resume:", "event:")  # event: scheduler/events


@dataclass(frozen=True)
class QueuedRun:
    """A run waiting to start, as the scheduler recorded it."""

    run_id: str
    bot: str
    trigger: str
    schedule: str | None
    fire_time: datetime | None
    created_at: datetime
    priority: int = DEFAULT_PRIORITY
    inputs: dict[str, str] = field(default_factory=dict)
    max_run_seconds: float = 7200.0
    apps: tuple[str, ...] = ()
    queue: str | None = None

    @classmethod
    def from_record(cls, run: RunRecord) -> QueuedRun:
        detail: dict[str, Any] = run.detail
        return cls(
            run_id=run.id,
            bot=run.bot,
            trigger=run.trigger,
            schedule=run.schedule,
            fire_time=run.fire_time,
            created_at=run.created_at,
            priority=int(detail.get("priority", DEFAULT_PRIORITY)),
            inputs=dict(detail.get("inputs") or {}),
            max_run_seconds=float(detail.get("max_run_seconds", 7200.0)),
            apps=tuple(detail.get("apps") or ()),
            queue=detail.get("queue"),
        )

    @property
    def order(self) -> tuple[int, datetime]:
        """Higher priority first, then the earlier fire."""
        return (-self.priority, self.fire_time or self.created_at)


class Dispatcher(ABC):
    """Starts queued runs and watches them until they end."""

    @abstractmethod
    def tick(self, *, look_for_work: bool) -> None:
        """Supervise running runs; with ``look_for_work`` also start queued ones."""

    @abstractmethod
    def running(self) -> list[str]:
        """Ids of the runs this dispatcher is supervising now."""

    @abstractmethod
    def shutdown(self, *, stop_runs: bool) -> None:
        """Stop supervising; ``stop_runs`` also stops the runs (they end CANCELLED)."""
