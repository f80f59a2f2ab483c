"""One kind of event = one :class:`Watch` subclass, polled by the service's event loop."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import ClassVar

from scheduler.events.book import EventBook
from scheduler.events.config import TriggerConfig


class Watch(ABC):
    """Looks for one trigger's events and records what they start through the book."""

    kind: ClassVar[str]

    def __init__(self, name: str, config: TriggerConfig, book: EventBook) -> None:
        self.name = name
        self.config = config
        self.book = book

    @abstractmethod
    def poll(self, now: datetime) -> None:
        """Look once: take what is ready, queue runs for it, tidy up after ended runs."""

    def close(self) -> None:  # noqa: B027 - optional hook, most watches hold nothing
        """Release anything held between polls (a mailbox connection); nothing by default."""
