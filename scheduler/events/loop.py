"""The event loop: one thread of the scheduler service polls every trigger's watch.

Each watch is polled every ``poll_seconds`` of its trigger. A watch that cannot be built
(a bot without the input a file trigger names) or whose poll fails (a folder it may not
read) is reported once per distinct problem — a log line and a ``trigger.error`` record —
and tried again at its next poll; the other triggers go on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from loguru import logger

from borough.errors import BoroughError
from scheduler.config import Schedules
from scheduler.events.after import AfterWatch
from scheduler.events.base import Watch
from scheduler.events.book import EventBook
from scheduler.events.config import TriggerConfig
from scheduler.events.files import FileWatch
from scheduler.events.mailbox import MailboxWatch
from scheduler.events.queue import QueueWatch
from scheduler.events.store import paused_triggers

TICK_SECONDS = 0.2


def make_watch(name: str, config: TriggerConfig, book: EventBook, home: Path) -> Watch:
    if config.kind == "file":
        return FileWatch(name, config, book, home=home)
    if config.kind == "mailbox":
        return MailboxWatch(name, config, book, home=home)
    if config.kind == "queue":
        return QueueWatch(name, config, book)
    return AfterWatch(name, config, book)


class EventLoop:
    def __init__(
        self,
        book: EventBook,
        home: Path,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        active: Callable[[], bool] = lambda: True,
    ) -> None:
        self.book = book
        #: whether this scheduler may act (a scheduler that lost its lock takes no event)
        self.active = active
        self.home = home
        self.clock = clock
        self.watches: dict[str, Watch] = {}
        self._wanted: dict[str, TriggerConfig] = {}
        self._due: dict[str, float] = {}
        self._reported: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def configure(self, schedules: Schedules) -> None:
        """Take the triggers of ``schedules`` (at start and at every sync)."""
        with self._lock:
            self.book.schedules = schedules
            self._wanted = dict(schedules.active_triggers)
            for name in list(self.watches):
                if self._wanted.get(name) != self.watches[name].config:
                    self.watches.pop(name).close()
            for name in list(self._due):
                if name not in self._wanted:
                    del self._due[name]

    def poll(self, *, force: bool = False) -> None:
        """One round: poll every trigger that is due (``force``: every trigger); a paused
        one is not looked at (its events wait, as outside its window)."""
        with self._lock:
            paused: set[str] | None = None
            for name, config in self._wanted.items():
                now = time.monotonic()
                if not force and now < self._due.get(name, 0.0):
                    continue
                if paused is None:
                    paused = set(paused_triggers(self.book.ledger.engine))
                if name in paused:
                    self._due[name] = now + config.poll_seconds
                    continue
                self._due[name] = now + config.poll_seconds
                self._poll_one(name, config)

    def _poll_one(self, name: str, config: TriggerConfig) -> None:
        try:
            watch = self.watches.get(name)
            if watch is None:
                watch = self.watches[name] = make_watch(name, config, self.book, self.home)
            watch.poll(self.clock())
        except (BoroughError, OSError) as exc:
            self._report(name, config, str(exc))
        except Exception as exc:  # a watch's bug must not stop the other triggers
            logger.bind(action="trigger.error").exception("trigger {} failed", name)
            self._report(name, config, f"unexpected {type(exc).__name__}: {exc}")
        else:
            self._reported.pop(name, None)

    def _report(self, name: str, config: TriggerConfig, problem: str) -> None:
        if self._reported.get(name) == problem:
            return
        self._reported[name] = problem
        logger.bind(action="trigger.error").warning("trigger {}: {}", name, problem)
        self.book.trail.bind(bot=config.bot).emit(
            "trigger.error",
            outcome="error",
            error=problem,
            detail={"trigger": name, "kind": config.kind},
        )

    # -- the thread ----------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="borough-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._lock:
            for watch in self.watches.values():
                watch.close()
            self.watches.clear()

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            if not self.active():
                continue
            try:
                self.poll()
            except Exception:
                logger.bind(action="trigger.error").exception("event loop error; going on")
                time.sleep(1)
