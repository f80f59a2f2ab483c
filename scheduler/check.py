"""`borough config check` for schedules.yaml: the file, then the bots and inputs it names."""

from __future__ import annotations

from pathlib import Path

from borough.config.loader import Config
from borough.errors import BoroughError, ConfigError
from scheduler.config import load_schedules


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
    if problems:
        first = problems[0]
        first.others = problems[1:]
        raise first
    return [schedules.file]
