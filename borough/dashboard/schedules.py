"""What the schedule pages need from the scheduler, as a small interface.

The dashboard (in ``borough``) must not import ``scheduler``; the CLI, which wires
``scheduler`` in, passes an object with these methods
(``borough.cli._schedule_control.SchedulerControl``). The control records each change in
the audit trail itself, with the ``actor`` it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from borough.ledger import RunRecord


@dataclass(frozen=True)
class ScheduleRow:
    id: str
    bot: str
    when: str  #: the trigger in words, e.g. "daily at 07:30 on council working days"
    next_fire: datetime | None
    state: str  #: active | paused | not synced | disabled | removed
    description: str = ""
    last: RunRecord | None = None
    queued: int = 0
    running: int = 0
    waiting_for: str | None = None

    @property
    def can_pause(self) -> bool:
        return self.state == "active"

    @property
    def can_resume(self) -> bool:
        return self.state == "paused"

    @property
    def can_run_now(self) -> bool:
        return self.state in ("active", "paused", "not synced")


class ScheduleControl(Protocol):
    def status(self) -> str | None:
        """Who runs the scheduler now, in words (None: no scheduler is running)."""
        ...

    def list(self) -> list[ScheduleRow]: ...

    def pause(self, schedule_id: str, *, actor: str) -> str: ...

    def resume(self, schedule_id: str, *, actor: str) -> str: ...

    def run_now(self, schedule_id: str, *, actor: str) -> str:
        """Queue a run now; returns what to tell the operator (e.g. the run id)."""
        ...
