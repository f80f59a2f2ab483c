"""Telling people a run needs them: a notice, and the notifier ABC channels implement.

Notices carry run ids, bot and schedule names, statuses, counts and redacted errors,
never item data: the person reads the details with `borough runs show`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Notice:
    event: str  #: failed | crashed | timed_out | missed | needs_review | anchor
    bot: str
    schedule: str | None
    run_id: str | None
    when: datetime
    summary: str
    council: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        what = self.event.replace("_", " ")
        return f"[borough] {what}: {self.schedule or self.bot}"

    def text(self) -> str:
        lines = [
            self.summary,
            "",
            f"bot:       {self.bot}",
            f"schedule:  {self.schedule or '-'}",
            f"run:       {self.run_id or '-'}",
            f"when:      {self.when.astimezone(LONDON):%Y-%m-%d %H:%M:%S} (UK time)",
        ]
        lines += [f"{key + ':':<10} {value}" for key, value in sorted(self.detail.items())]
        if self.run_id:
            lines += ["", f"Details: borough runs show {self.run_id}"]
        if self.council:
            lines += ["", f"-- borough scheduler, {self.council}"]
        return "\n".join(lines) + "\n"

    def payload(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "bot": self.bot,
            "schedule": self.schedule,
            "run_id": self.run_id,
            "when": self.when.isoformat(),
            "summary": self.summary,
            "detail": self.detail,
            "text": f"{self.subject}\n{self.summary}",
        }


class Notifier(ABC):
    """One channel (email, webhook); ``send`` raises on failure, the caller records it."""

    kind: ClassVar[str]

    @abstractmethod
    def send(self, notice: Notice) -> None: ...

    @abstractmethod
    def describe(self) -> str:
        """Where notices go, without credentials (for logs and the audit trail)."""
