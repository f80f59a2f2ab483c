"""``config/schedules.yaml``: schedules, calendars, scheduler settings and notifications.

Validated by pydantic like every borough config file, so errors name file, line and key.
Credentials never appear here: notifiers name secrets in the store (``password_secret``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from borough.config.loader import Config, validate_document
from borough.config.models import Strict
from borough.config.yaml_lines import LocatedYaml, load_yaml
from borough.errors import ConfigError
from scheduler.calendars import BUILTIN, AnnualClosure, WorkingCalendar, parse_month_day
from scheduler.events.config import TriggerConfig
from scheduler.runstart import ClockTime, OptionalClockTime, RunStart
from scheduler.triggers import (
    INTERVAL_ANCHOR,
    LONDON,
    AfterBankHolidayTrigger,
    BoroughTrigger,
    FilteredTrigger,
    WorkingDayOfMonthTrigger,
)

FILE_NAME = "schedules.yaml"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
WHEN_KEYS = ("cron", "interval", "daily", "monthly", "after_bank_holiday")
Event = Literal["failed", "crashed", "timed_out", "missed", "needs_review", "anchor", "drift"]
NOTIFY_EVENTS: tuple[Event, ...] = (
    "failed",
    "crashed",
    "timed_out",
    "missed",
    "needs_review",
    "anchor",
    "drift",
)
Region = Literal["england-and-wales", "england", "wales", "scotland", "northern-ireland"]


class DateRange(Strict):
    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError("'to' is before 'from'")
        return self


class MonthDayRange(Strict):
    """An annual closure, e.g. ``{from: "12-27", to: "12-31"}`` (may wrap the new year)."""

    start: str = Field(alias="from")
    end: str = Field(alias="to")

    @field_validator("start", "end")
    @classmethod
    def _month_day(cls, value: str) -> str:
        parse_month_day(value)
        return value


class CalendarConfig(Strict):
    region: Region = "england-and-wales"
    closures: list[date | DateRange] = Field(default_factory=list)
    annual_closures: list[MonthDayRange] = Field(default_factory=list)

    def build(self, name: str) -> WorkingCalendar:
        days: set[date] = set()
        for closure in self.closures:
            if isinstance(closure, DateRange):
                day = closure.start
                while day <= closure.end:
                    days.add(day)
                    day += timedelta(days=1)
            else:
                days.add(closure)
        annual = tuple(
            AnnualClosure(parse_month_day(a.start), parse_month_day(a.end))
            for a in self.annual_closures
        )
        return WorkingCalendar(name, self.region, frozenset(days), annual)


class Interval(Strict):
    days: int = Field(default=0, ge=0)
    hours: int = Field(default=0, ge=0)
    minutes: int = Field(default=0, ge=0)
    seconds: int = Field(default=0, ge=0)
    start: datetime | None = Field(
        default=None, description="count from here (UK local); default a fixed Monday midnight"
    )

    @model_validator(mode="after")
    def _positive(self) -> Interval:
        if self.span.total_seconds() <= 0:
            raise ValueError("an interval needs days, hours, minutes or seconds above 0")
        return self

    @property
    def span(self) -> timedelta:
        return timedelta(
            days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )


class MonthlyRule(Strict):
    working_day: int = Field(description="1 = first working day, -1 = last")
    at: ClockTime


class AfterHolidayRule(Strict):
    working_day: int = Field(ge=1, le=20, description="1 = the first working day after")
    at: ClockTime


class ScheduleConfig(RunStart):
    """One schedule: which bot, when, and how to treat lateness and overruns."""

    cron: str | None = Field(default=None, description="minute hour day month weekday")
    interval: Interval | None = None
    daily: OptionalClockTime = None
    monthly: MonthlyRule | None = None
    after_bank_holiday: AfterHolidayRule | None = None
    misfire_grace_seconds: int = Field(default=300, ge=1)
    on_missed: Literal["run_once", "skip"] = "run_once"
    queue: str | None = Field(default=None, description="scale-out queue, e.g. host:runner-2")
    runs: int = Field(
        default=1,
        ge=1,
        le=64,
        description="runs working this schedule's items at once (on one machine or several); "
        "each takes its own licence seat, so at most max_sessions of them work together",
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        fields = value.split()
        if len(fields) != 5:
            raise ValueError(
                f"cron needs 5 fields (minute hour day month weekday), not {len(fields)}"
            )
        if re.search(r"\d", fields[4]):
            raise ValueError(
                "write weekdays by name (mon-fri, sat,sun): weekday numbers mean different "
                "days in crontab and in APScheduler 3"
            )
        try:
            FilteredTrigger.cron(value)
        except ValueError as exc:
            raise ValueError(f"not a valid cron expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_when(self) -> ScheduleConfig:
        given = [key for key in WHEN_KEYS if getattr(self, key) is not None]
        if len(given) != 1:
            what = ", ".join(given) if given else "none"
            raise ValueError(f"give exactly one of {', '.join(WHEN_KEYS)} (found: {what})")
        if given[0] in ("monthly", "after_bank_holiday") and self.calendar is None:
            raise ValueError(f"{given[0]} counts working days, so it needs a calendar:")
        if self.monthly is not None and (
            self.monthly.working_day == 0 or not -1 <= self.monthly.working_day <= 23
        ):
            raise ValueError("monthly.working_day must be 1..23 or -1 (the last working day)")
        return self

    @property
    def when(self) -> str:
        return next(key for key in WHEN_KEYS if getattr(self, key) is not None)


class EmailChannel(Strict):
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False
    sender: str
    to: list[str] = Field(min_length=1)
    username: str | None = None
    password_secret: str | None = Field(default=None, description="secret name in the store")
    timeout_seconds: float = Field(default=15, gt=0)


class WebhookChannel(Strict):
    url: str | None = Field(default=None, description="only when the URL holds no token")
    url_secret: str | None = Field(default=None, description="secret holding the URL")
    timeout_seconds: float = Field(default=10, gt=0)

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannel:
        if (self.url is None) == (self.url_secret is None):
            raise ValueError("give url or url_secret (a URL with a token belongs in the store)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self


class NotifySettings(Strict):
    events: list[Event] = Field(default_factory=lambda: list(NOTIFY_EVENTS))
    repeat_after_minutes: float = Field(
        default=60, ge=0, description="the same event of a schedule is not re-sent sooner"
    )
    anchor_every_hours: float = Field(
        default=24, ge=0, description="send a signed audit anchor this often (0: never)"
    )
    email: EmailChannel | None = None
    webhook: WebhookChannel | None = None

    @property
    def channels(self) -> list[EmailChannel | WebhookChannel]:
        return [channel for channel in (self.email, self.webhook) if channel is not None]


class SchedulerSettings(Strict):
    store: str | None = Field(default=None, description="SQLAlchemy URL of the schedule store")
    dispatch: Literal["local", "procrastinate"] = "local"
    procrastinate_url: str | None = Field(
        default=None, description="PostgreSQL for the run queue; default: the ledger's URL"
    )
    max_concurrent_runs: int = Field(default=2, ge=1, le=64)
    default_max_run_minutes: float = Field(default=120, gt=0)
    kill_grace_seconds: float = Field(default=30, ge=0)
    tick_seconds: float = Field(default=0.2, gt=0, le=5)
    stalled_job_seconds: float = Field(
        default=60,
        ge=1,
        description="procrastinate dispatch: a worker silent this long is presumed dead and "
        "its job handed to another",
    )
    worker_heartbeat_seconds: float = Field(
        default=10, gt=0, description="how often a worker tells PostgreSQL it is alive"
    )
    fork_server: bool = Field(
        default=True,
        description="start runs as forks of a warm interpreter (borough.forkserver): "
        "no Python start-up per run; false: a fresh `python -m borough run` each time",
    )

    @model_validator(mode="after")
    def _heartbeat_below_stall(self) -> SchedulerSettings:
        if self.worker_heartbeat_seconds * 2 > self.stalled_job_seconds:
            raise ValueError(
                f"worker_heartbeat_seconds ({self.worker_heartbeat_seconds:g}) must be at most "
                f"half of stalled_job_seconds ({self.stalled_job_seconds:g}): a live worker "
                "must not look stalled"
            )
        return self


class SchedulesFile(Strict):
    """``config/schedules.yaml``."""

    version: Literal[1] = 1
    scheduler: SchedulerSettings = SchedulerSettings()
    notify: NotifySettings = NotifySettings()
    calendars: dict[str, CalendarConfig] = Field(default_factory=dict)
    schedules: dict[str, ScheduleConfig] = Field(default_factory=dict)
    triggers: dict[str, TriggerConfig] = Field(default_factory=dict)


@dataclass
class Schedules:
    """The loaded file, with calendars and triggers built (what the service works from)."""

    file: Path
    settings: SchedulerSettings
    notify: NotifySettings
    calendars: dict[str, WorkingCalendar]
    entries: dict[str, ScheduleConfig]
    doc: LocatedYaml | None = field(default=None, repr=False)
    triggers: dict[str, TriggerConfig] = field(default_factory=dict)  #: event triggers

    @property
    def active(self) -> dict[str, ScheduleConfig]:
        return {name: s for name, s in self.entries.items() if s.enabled}

    @property
    def active_triggers(self) -> dict[str, TriggerConfig]:
        return {name: t for name, t in self.triggers.items() if t.enabled}

    def trigger(self, name: str) -> BoroughTrigger:
        return build_trigger(self.entries[name], self.calendars)

    def line(self, *loc: str) -> int | None:
        return self.doc.line_of(loc) if self.doc else None

    def store_url(self, config: Config) -> str:
        return self.settings.store or f"sqlite:///{config.paths.data / 'schedules.sqlite'}"

    def max_run_seconds(self, name: str, config: Config) -> float:
        schedule = self.entries[name]
        minutes = schedule.max_run_minutes
        if minutes is None:
            bot_config = config.bot_config(schedule.bot)
            minutes = bot_config.max_run_minutes if bot_config else None
        return 60.0 * (minutes or self.settings.default_max_run_minutes)


def build_trigger(
    schedule: ScheduleConfig, calendars: dict[str, WorkingCalendar]
) -> BoroughTrigger:
    calendar = calendars[schedule.calendar] if schedule.calendar else None
    if schedule.cron is not None:
        return FilteredTrigger.cron(schedule.cron, calendar)
    if schedule.daily is not None:
        return FilteredTrigger.daily(schedule.daily, calendar)
    if schedule.interval is not None:
        start = schedule.interval.start
        anchor = (
            INTERVAL_ANCHOR
            if start is None
            else (start if start.tzinfo else start.replace(tzinfo=LONDON))
        )
        return FilteredTrigger.every(schedule.interval.span, anchor=anchor, calendar=calendar)
    assert calendar is not None  # checked by ScheduleConfig
    if schedule.monthly is not None:
        return WorkingDayOfMonthTrigger(schedule.monthly.working_day, schedule.monthly.at, calendar)
    assert schedule.after_bank_holiday is not None
    rule = schedule.after_bank_holiday
    return AfterBankHolidayTrigger(rule.working_day, rule.at, calendar)


def schedules_file(config: Config) -> Path:
    return config.paths.config / FILE_NAME


def load_schedules(config: Config, file: Path | None = None) -> Schedules:
    """Read and check ``schedules.yaml`` (a missing file means no schedules)."""
    file = file or schedules_file(config)
    if not file.exists():
        empty = SchedulesFile()
        return Schedules(file, empty.scheduler, empty.notify, _calendars(empty), {})
    doc = load_yaml(file)
    parsed = validate_document(SchedulesFile, doc)
    for name in parsed.calendars:
        if not NAME_PATTERN.match(name) or name in BUILTIN:
            raise ConfigError(
                f"calendar name {name!r} must be lower-case letters, digits and - and must "
                f"not be a built-in region name ({', '.join(BUILTIN)})",
                file=file,
                line=doc.line_of(("calendars", name)),
                field=f"calendars.{name}",
            )
    calendars = _calendars(parsed)
    named: list[tuple[str, str, str | None]] = [
        ("schedules", name, s.calendar) for name, s in parsed.schedules.items()
    ]
    named += [("triggers", name, t.calendar) for name, t in parsed.triggers.items()]
    for section, name, calendar in named:
        if not NAME_PATTERN.match(name):
            raise ConfigError(
                f"{section[:-1]} name {name!r}: use lower-case letters, digits, '-', '_' or '.'",
                file=file,
                line=doc.line_of((section, name)),
                field=f"{section}.{name}",
            )
        if section == "triggers" and name in parsed.schedules:
            raise ConfigError(
                f"trigger {name!r} has the name of a schedule; runs are listed by that name, "
                "so give it another",
                file=file,
                line=doc.line_of((section, name)),
                field=f"{section}.{name}",
            )
        if calendar is not None and calendar not in calendars:
            raise ConfigError(
                f"unknown calendar {calendar!r}; known: {', '.join(sorted(calendars))}",
                file=file,
                line=doc.line_of((section, name, "calendar")),
                field=f"{section}.{name}.calendar",
            )
    return Schedules(
        file,
        parsed.scheduler,
        parsed.notify,
        calendars,
        parsed.schedules,
        doc,
        triggers=parsed.triggers,
    )


def _calendars(parsed: SchedulesFile) -> dict[str, WorkingCalendar]:
    calendars = {name: WorkingCalendar(name, name) for name in BUILTIN}
    calendars.update({name: c.build(name) for name, c in parsed.calendars.items()})
    return calendars
