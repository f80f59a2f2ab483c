"""The knobs of one Caseflow sandbox instance (faults, timeouts, version, seeded data)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class SandboxConfig:
    """Knobs of one sandbox instance (all times in seconds)."""

    store: Path
    users: Mapping[str, str] = field(default_factory=lambda: {"bot.casework": "Caseflow-2026!"})
    council: str = "Example Borough Council"
    idle_timeout: float = 900.0
    max_session_age: float | None = None
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("error500", "truncated", "locked")
    stall_seconds: float = 8.0
    latency: float = 0.0
    jitter: float = 0.0
    commit_delay: float = 0.0  #: a save answers this long after it committed
    seed: int | None = None
    page_size: int = 10
    today: date | None = None
    #: seconds for session idle and age limits; tests pass a clock they move by hand
    clock: Callable[[], float] = time.monotonic
    next_version: bool = False  #: serve Caseflow 5.0's screens (new ids, labels, form layout)
    #: other residents the app shows on its working pages ("recent callers"), as the real
    #: one does; each a dict of name, address, nino, email, phone, bank
    callers: tuple[Mapping[str, str], ...] = ()
    wrap: int = 0  #: re-wrap shown text (callers, a saved case's addressee) at this width
    #: new cases wait in the session's unsaved work until "Save all" (sandbox/web/basket.py)
    save_later: bool = False
    #: every Nth case save commits, then breaks its answer (0: only random faults)
    break_every_nth_save: int = 0
