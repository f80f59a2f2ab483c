"""Licence seats: ``max_sessions`` per app in ``config/apps.yaml``, counted from live runs.

Seats are not stored anywhere: a seat is held by every run the ledger shows RUNNING whose
bot uses the app (manual runs included), plus runs this scheduler has just started. A run
that dies stops heartbeating and is reaped to CRASHED, which frees its seats.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from loguru import logger

from borough.config.loader import Config
from borough.errors import BoroughError
from borough.ledger import RunRecord


@dataclass(frozen=True)
class Holder:
    """A run that holds (or is about to hold) seats on ``apps``."""

    run_id: str
    bot: str
    apps: tuple[str, ...]


class SeatBook:
    def __init__(self, config: Config) -> None:
        self._config = config
        self.limits: dict[str, int] = {}
        self._apps: dict[str, tuple[str, ...]] = {}
        self.reload()

    def reload(self) -> None:
        """Take seat limits from the config's apps again and forget the bots' apps (sync)."""
        self.limits = {
            name: app.max_sessions for name, app in self._config.apps.items() if app.max_sessions
        }
        self._apps.clear()

    def apps_of(self, bot: str) -> tuple[str, ...]:
        """The apps a bot's config lists (what its runs hold seats on)."""
        if bot not in self._apps:
            try:
                bot_config = self._config.bot_config(bot)
            except BoroughError as exc:
                logger.bind(action="seats.bot_config").warning(
                    "cannot read the config of bot {}: {}", bot, exc
                )
                bot_config = None
            self._apps[bot] = tuple(bot_config.apps) if bot_config else ()
        return self._apps[bot]

    def holder(self, run: RunRecord) -> Holder:
        apps = run.detail.get("apps")
        return Holder(run.id, run.bot, tuple(apps) if apps is not None else self.apps_of(run.bot))

    def usage(self, holders: Iterable[Holder]) -> Counter[str]:
        used: Counter[str] = Counter()
        for holder in holders:
            used.update(app for app in holder.apps if app in self.limits)
        return used

    def blocker(self, apps: Iterable[str], used: Counter[str]) -> str | None:
        """The first app with no free seat for a run using ``apps`` (``None``: it may start)."""
        for app in apps:
            limit = self.limits.get(app)
            if limit is not None and used[app] >= limit:
                return app
        return None
