"""`borough config check` for schedules.yaml: the file, then the bots and inputs it names."""

from __future__ import annotations

from pathlib import Path

from borough.config.loader import Config
from borough.errors import BoroughError, ConfigError
from borough.mail.settings import mail_settings
from scheduler.config import Schedules, load_schedules
from scheduler.events.files import input_of


def check_schedules(config: Config) -> list[Path]:
    """``borough config check`` hook: the file itself, then bots, apps and inputs it names."""
    from borough.registry import load_bot

    schedules = load_schedules(config)
    if not schedules.file.exists():
        return []
    problems: list[ConfigError] = []
    for name, schedule in schedules.entries.items():
        where = ("schedules", name)
        try:
            load_bot(schedule.bot, config)
            bot_config = config.bot_config(schedule.bot)
        except BoroughError as exc:
            problems.append(
                ConfigError(
                    f"bot {schedule.bot!r}: {exc}",
                    file=schedules.file,
                    line=schedules.line(*where, "bot"),
                    field=f"schedules.{name}.bot",
                )
            )
            continue
        declared = set(bot_config.inputs) if bot_config else set()
        unknown = sorted(set(schedule.inputs) - declared) if declared else []
        if unknown:
            problems.append(
                ConfigError(
                    f"bot {schedule.bot!r} has no input {unknown[0]!r}; it reads: "
                    f"{', '.join(sorted(declared))}",
                    file=schedules.file,
                    line=schedules.line(*where, "inputs", unknown[0]),
                    field=f"schedules.{name}.inputs",
                )
            )
    problems += check_triggers(config, schedules)
    if problems:
        first = problems[0]
        first.others = problems[1:]
        raise first
    return [schedules.file]


def schedule_warnings(config: Config) -> list[str]:
    """Valid but wasteful: ``runs: N`` above the smallest ``max_sessions`` of the bot's
    apps (the parts beyond it wait for a seat instead of working)."""
    schedules = load_schedules(config)
    warnings = []
    for name, schedule in sorted(schedules.entries.items()):
        if schedule.runs <= 1:
            continue
        try:
            bot_config = config.bot_config(schedule.bot)
        except BoroughError:
            continue  # check_schedules reports it
        limits = [
            (seats, app)
            for app in (bot_config.apps if bot_config else [])
            if app in config.apps and (seats := config.apps[app].max_sessions)
        ]
        if not limits:
            continue
        seats, app = min(limits)
        if schedule.runs > seats:
            line = schedules.line("schedules", name, "runs")
            warnings.append(
                f"{schedules.file}:{line}: schedules.{name}: runs: {schedule.runs} but app "
                f"{app} has max_sessions: {seats}; {schedule.runs - seats} run(s) of each fire "
                f"would wait for a seat (set runs: {seats}, or raise max_sessions)"
            )
    return warnings


def check_triggers(config: Config, schedules: Schedules) -> list[ConfigError]:
    """The bots each trigger runs or watches, a mailbox trigger's app, and the input a
    file or mailbox trigger fills."""
    from borough.registry import load_bot

    problems: list[ConfigError] = []
    for name, trigger in schedules.triggers.items():
        watched = (trigger.queue.bot if trigger.queue else None) or (
            trigger.after.bot if trigger.after else None
        )
        checks: list[tuple[tuple[str, ...], str]] = [(("bot",), trigger.bot)]
        if watched is not None:
            checks.append(((trigger.kind, "bot"), watched))
        before = len(problems)
        for keys, bot in checks:
            try:
                load_bot(bot, config)
            except BoroughError as exc:
                problems.append(_trigger_error(schedules, name, keys, f"bot {bot!r}: {exc}"))
        if trigger.mailbox is not None:
            app = trigger.mailbox.app
            try:
                settings = mail_settings(app, config.app(app))
                if settings.imap is None:
                    raise ConfigError(f"app {app!r} has no imap: section to read messages from")
            except BoroughError as exc:
                problems.append(_trigger_error(schedules, name, ("mailbox", "app"), str(exc)))
        if (trigger.file or trigger.mailbox) is not None and len(problems) == before:
            try:
                input_of(config, trigger)
            except BoroughError as exc:
                problems.append(_trigger_error(schedules, name, (trigger.kind, "input"), str(exc)))
    return problems


def _trigger_error(
    schedules: Schedules, name: str, keys: tuple[str, ...], message: str
) -> ConfigError:
    return ConfigError(
        message,
        file=schedules.file,
        line=schedules.line("triggers", name, *keys),
        field=".".join(("triggers", name, *keys)),
    )
