"""The scheduling service: APScheduler wiring, UK working-day calendars, licence-seat
locks, missed-fire accounting and dispatch of runs to their own processes.

``borough`` never imports this package; the CLI wires it in (``borough scheduler``,
``borough schedules``, ``borough worker``).
"""

from __future__ import annotations
