"""What the schedule pages need from the scheduler, as a small interface.

The dashboard (in ``borough``) must not import ``scheduler``; the CLI, which wires
``scheduler`` in, passes an object with these methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ScheduleRow:
    id: str
    bot: str
    when: str  #: the trigger in words, e.g. "weekdays at 01:30 (england-and-wales)"
    next_fire: datetime | None
    paused: bool
    description: str = ""


class ScheduleControl(Protocol):
    def list(self) -> list[ScheduleRow]: ...

    def pause(self, schedule_id: str, *, actor: str) -> None: ...

    def resume(self, schedule_id: str, *, actor: str) -> None: ...

    def run_now(self, schedule_id: str, *, actor: str) -> str:
        """Start a run now; returns what to tell the operator (e.g. the run id)."""
        ...
