"""What a clock schedule and an event trigger share: the bot a run starts and how.

``schedules:`` and ``triggers:`` in ``config/schedules.yaml`` both start runs of a bot, on a
calendar's working days, with inputs, a priority and a run-time limit. Declaring those keys
once keeps their names, limits and error messages the same in both sections.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from borough.config.models import Strict


def _clock(value: Any) -> Any:
    """YAML 1.1 reads an unquoted 07:30 as the number 450: say so instead of guessing."""
    if isinstance(value, int):
        raise ValueError('write the time in quotes, e.g. "07:30" (unquoted, YAML reads a number)')
    return value


#: a time of day from YAML, refusing the number an unquoted 07:30 becomes
ClockTime = Annotated[time, BeforeValidator(_clock)]
#: the same, where the key may be left out
OptionalClockTime = Annotated[time | None, BeforeValidator(_clock)]


class RunStart(Strict):
    """The keys every way of starting runs has (a schedule, a trigger)."""

    bot: str
    description: str = ""
    calendar: str | None = Field(
        default=None, description="start only on this calendar's working days"
    )
    inputs: dict[str, str] = Field(default_factory=dict)
    priority: int = Field(default=5, ge=1, le=9, description="9 starts first when runs wait")
    max_run_minutes: float | None = Field(default=None, gt=0)
    enabled: bool = True
