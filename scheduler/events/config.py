"""``triggers:`` in ``config/schedules.yaml``: runs started by events instead of the clock.

A trigger names the bot to run and exactly one kind of event (``file``, ``mailbox``,
``queue``, ``after``); it shares the clock schedules' calendars, priorities, run-time limits and
scale-out queues, and adds a working window (``hours``), a debounce and a cap on its own
runs (``max_runs``). Validated like the rest of the file, so errors name file, line and key.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from borough.config.models import Strict
from borough.mail.settings import check_folder
from scheduler.runstart import ClockTime, RunStart

KINDS = ("file", "mailbox", "queue", "after")


class WorkingHours(Strict):
    """``hours: {from: "08:00", to: "18:00"}``: events outside wait for the next opening."""

    start: ClockTime = Field(alias="from")
    end: ClockTime = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from' (a window does not cross midnight)")
        return self


class FileWatchConfig(Strict):
    """Files dropped in a folder, each handed once to a run as its input."""

    folder: str = Field(description="the drop folder (relative to the home, or absolute)")
    pattern: str = Field(default="*", description="glob matched against names in the folder")
    input: str | None = Field(
        default=None, description="the bot's input the file becomes (default: its only input)"
    )
    settle_seconds: float = Field(
        default=5, ge=0, description="size and modification time unchanged for this long"
    )
    marker: str | None = Field(
        default=None, description='take x.csv only once "x.csv<marker>" exists, e.g. ".done"'
    )
    processed: str = Field(default="processed", description="sub-folder for files whose run ended")
    rejected: str = Field(default="rejected", description="sub-folder for duplicates and failures")

    @field_validator("pattern")
    @classmethod
    def _plain_glob(cls, value: str) -> str:
        if "/" in value or value in ("", ".", ".."):
            raise ValueError("the pattern matches names in the folder itself (no '/')")
        return value

    @field_validator("marker")
    @classmethod
    def _marker(cls, value: str | None) -> str | None:
        if value is not None and (not value or "/" in value):
            raise ValueError('a marker is a name suffix such as ".done"')
        return value

    @field_validator("processed", "rejected")
    @classmethod
    def _sub_folder(cls, value: str) -> str:
        if not value or "/" in value or value.startswith("."):
            raise ValueError("a plain sub-folder name of the drop folder, e.g. processed")
        return value


class MailboxWatchConfig(Strict):
    """New messages in a shared mailbox's folder, each handed once to a run as its input."""

    app: str = Field(description="the mailbox: an app of kind: mail in apps.yaml")
    folder: str | None = Field(default=None, description="where messages arrive (the app's)")
    input: str | None = Field(
        default=None, description="the bot's input the message becomes (default: its only input)"
    )
    processed: str = Field(default="Processed", description="folder for messages whose run ended")
    rejected: str = Field(default="Rejected", description="folder for duplicates and failures")
    max_message_mb: float = Field(
        default=25, gt=0, le=1024, description="larger messages are rejected unread"
    )

    @field_validator("folder", "processed", "rejected")
    @classmethod
    def _folder(cls, value: str | None) -> str | None:
        return None if value is None else check_folder(value)

    @model_validator(mode="after")
    def _distinct(self) -> MailboxWatchConfig:
        if self.processed == self.rejected:
            raise ValueError("processed and rejected must be different folders")
        if self.folder is not None and self.folder in (self.processed, self.rejected):
            raise ValueError("messages are moved out of folder: processed/rejected must differ")
        return self


class QueueWatchConfig(Strict):
    """A bot's due PENDING items: at least ``pending`` of them, or the oldest this old."""

    bot: str | None = Field(default=None, description="whose items (default: the trigger's bot)")
    pending: int | None = Field(default=None, ge=1, description="fire at this many due items")
    oldest_minutes: float | None = Field(
        default=None, gt=0, description="or when the oldest due item has waited this long"
    )

    @model_validator(mode="after")
    def _some_condition(self) -> QueueWatchConfig:
        if self.pending is None and self.oldest_minutes is None:
            raise ValueError("give pending, oldest_minutes or both")
        return self


class AfterWatchConfig(Strict):
    """When a run of another bot ends: bots form a chain (export bot → entry bot)."""

    bot: str = Field(description="the bot whose runs' ends start this trigger's bot")
    succeeded_only: bool = Field(
        default=False, description="only after a SUCCEEDED run (default: any end)"
    )


class TriggerConfig(RunStart):
    """One event trigger: which bot, on which event, when it may start and how often."""

    file: FileWatchConfig | None = None
    mailbox: MailboxWatchConfig | None = None
    queue: QueueWatchConfig | None = None
    after: AfterWatchConfig | None = None
    hours: WorkingHours | None = Field(default=None, description="and only in these hours")
    run_queue: str | None = Field(default=None, description="scale-out queue, e.g. host:runner-2")
    max_runs: int = Field(
        default=1, ge=1, le=64, description="runs of this trigger queued or running at once"
    )
    debounce_seconds: float | None = Field(
        default=None,
        ge=0,
        description="an event waits until none newer came for this long (after: 0, queue: 30)",
    )
    poll_seconds: float = Field(default=2, gt=0, le=3600, description="how often to look")

    @model_validator(mode="after")
    def _one_kind(self) -> TriggerConfig:
        given = [kind for kind in KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            what = ", ".join(given) if given else "none"
            raise ValueError(f"give exactly one of {', '.join(KINDS)} (found: {what})")
        if self.after is not None and self.after.bot == self.bot:
            raise ValueError("a bot cannot start after its own runs (it would never stop)")
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in KINDS if getattr(self, kind) is not None)

    @property
    def debounce(self) -> float:
        if self.debounce_seconds is not None:
            return self.debounce_seconds
        return 30.0 if self.kind == "queue" else 0.0
