"""The scheduling service: APScheduler wiring, UK working-day calendars, licence-seat
locks, missed-fire accounting and dispatch of runs to their own processes.

``borough`` never imports this package; the CLI wires it in (``borough scheduler``,
``borough schedules``, ``borough worker``).
"""

from __future__ import annotations

try:
    import apscheduler
except ModuleNotFoundError:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the scheduler needs APScheduler 3.11: pip install 'borough[scheduler]'"
    ) from None

if not apscheduler.__version__.startswith("3."):  # pragma: no cover
    raise ImportError(
        f"the scheduler is written for APScheduler 3.x, not {apscheduler.__version__}"
    )
