"""The scheduling service: APScheduler wiring, UK working-day calendars, licence-seat
locks, missed-fire accounting and dispatch of runs to their own processes.

``borough`` never imports this package; the CLI wires it in (``borough serve scheduler``,
``borough serve worker``, ``borough schedules``).
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

#: the libraries under the scheduler that log through the standard library
#: (``borough.logconfig.route_stdlib`` sends them to loguru)
LIBRARY_LOGGERS = ("apscheduler", "procrastinate")
