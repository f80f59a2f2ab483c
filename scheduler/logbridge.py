"""Route APScheduler's (and procrastinate's) standard-library logging into loguru.

Called by entry points only (the CLI commands, the in-process session), never on import.
"""

from __future__ import annotations

import logging

from loguru import logger

LIBRARIES = ("apscheduler", "procrastinate")


class LoguruHandler(logging.Handler):
    """A stdlib handler that re-emits records through loguru (so they are redacted too)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(exception=record.exc_info).bind(action=record.name[:18]).log(
            level, record.getMessage()
        )


def route_library_logs(level: int = logging.INFO) -> None:
    """Send the libraries' records at ``level`` and above to loguru (idempotent)."""
    for name in LIBRARIES:
        library = logging.getLogger(name)
        library.setLevel(level)
        library.propagate = False
        if not any(isinstance(h, LoguruHandler) for h in library.handlers):
            library.addHandler(LoguruHandler())
