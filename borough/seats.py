"""Licence seats for a run: which apps limit it, and waiting (visibly) for a free seat.

Every run, manual or scheduled, takes one seat on each app its bot's config lists with a
``max_sessions`` limit, atomically with its run row (see :mod:`borough.ledger.seats`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from loguru import logger

from borough.config.loader import Config
from borough.errors import SeatUnavailableError
from borough.ledger.seats import SeatsBusy, SeatsTaken

T = TypeVar("T")
POLL_SECONDS = 0.5


def seat_limits(config: Config, apps: Iterable[str]) -> dict[str, int]:
    """``{app: max_sessions}`` for the apps in ``apps`` that have a licence limit."""
    limits: dict[str, int] = {}
    for name in apps:
        app = config.apps.get(name)
        if app is not None and app.max_sessions:
            limits[name] = app.max_sessions
    return limits


def take_or_wait(
    attempt: Callable[[], T],
    *,
    free_dead: Callable[[], object],
    peek: Callable[[], SeatsBusy | None],
    wait: bool,
    on_wait: Callable[[str], None],
    poll: float = POLL_SECONDS,
) -> T:
    """``attempt()`` until its seats are free (reaping dead holders before each try).

    ``peek`` says, without locking anything, whether a seat is visibly taken, so waiting
    runs do not queue for the ledger's write lock. Without ``wait`` a taken seat is a
    :class:`SeatUnavailableError` at once. Ctrl+C while waiting leaves nothing behind:
    nothing is recorded until the seats are taken.
    """
    announced: str | None = None
    while True:
        free_dead()
        busy = peek()
        if busy is None:
            try:
                return attempt()
            except SeatsTaken as taken:
                busy = taken.busy
        text = busy.message()
        if not wait:
            raise SeatUnavailableError(f"{text}; not waiting (--no-wait)")
        if text != announced:
            announced = text
            logger.bind(action="run.seat_wait").info("waiting: {}", text)
            on_wait(text)
        time.sleep(poll * random.uniform(0.6, 1.4))
