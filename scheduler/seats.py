"""Licence seats: ``max_sessions`` per app in ``config/apps.yaml``, held in the ledger.

A seat is a row of ``borough_seats`` (see :mod:`borough.ledger.seats`): every run takes its
seats atomically, manual runs when they start, scheduled runs when the dispatcher is about
to start their process (so a dispatched run never has to wait). A run's seats go when it
ends or is reaped. The scheduler therefore asks the ledger, never its own memory, whether
a run may start; scale-out dispatch keeps procrastinate's locks as well.
"""

from __future__ import annotations

from loguru import logger

from borough.config.loader import Config
from borough.errors import BoroughError
from borough.ledger import RunBook
from borough.ledger.seats import SeatsBusy


class SeatBook:
    def __init__(self, config: Config) -> None:
        self._config = config
        self.limits: dict[str, int] = {}
        self.reload()

    def reload(self) -> None:
        """Take seat limits from the config's apps again (after ``Config.reload``, at sync)."""
        self.limits = {
            name: app.max_sessions for name, app in self._config.apps.items() if app.max_sessions
        }

    def apps_of(self, bot: str) -> tuple[str, ...]:
        """The apps a bot's config lists (what its runs hold seats on)."""
        try:
            bot_config = self._config.bot_config(bot)
        except BoroughError as exc:
            logger.bind(action="seats.bot_config").warning(
                "cannot read the config of bot {}: {}", bot, exc
            )
            return ()
        return tuple(bot_config.apps) if bot_config else ()

    def limits_for(self, apps: tuple[str, ...]) -> dict[str, int]:
        """``{app: max_sessions}`` of the limited apps among ``apps``."""
        return {app: self.limits[app] for app in apps if app in self.limits}

    def take(self, runs: RunBook, run_id: str, apps: tuple[str, ...]) -> SeatsBusy | None:
        """Take a queued run's seats now (all or none); what blocks it, or None.

        A seat visibly taken is answered from a read, without the ledger's write lock.
        """
        limits = self.limits_for(apps)
        if not limits:
            return None
        return runs.seats_busy(run_id, limits) or runs.take_seats(run_id, limits)
