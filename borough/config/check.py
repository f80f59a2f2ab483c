"""Validate the whole config folder, collecting every problem rather than stopping at one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path

from borough.config.loader import Config, load_config
from borough.config.yaml_lines import load_yaml
from borough.errors import BoroughError, ConfigError

ExtraCheck = Callable[[Config], list[Path]]


def check_all(extra_checks: Sequence[ExtraCheck] = ()) -> tuple[list[str], list[Path]]:
    """(problems as text, files checked); ``extra_checks`` validate more files (schedules)."""
    from borough.batches import item_rules
    from borough.connect import app_settings
    from borough.registry import bot_settings, load_bot

    problems: list[str] = []
    checked: list[Path] = []

    def note(exc: BoroughError) -> None:
        problems.append(str(exc))
        if isinstance(exc, ConfigError):
            problems.extend(str(other) for other in exc.others)

    try:
        config = load_config()
    except BoroughError as exc:
        note(exc)
        return problems, checked
    paths = config.paths
    checked += [
        p for p in (paths.config / "borough.yaml", paths.config / "apps.yaml") if p.exists()
    ]
    apps_file = paths.config / "apps.yaml"
    apps_doc = load_yaml(apps_file) if apps_file.exists() else None
    for name, app in config.apps.items():
        try:
            app_settings(name, app, apps_doc)
        except BoroughError as exc:
            note(exc)
    for name in config.bot_names():
        checked.append(config.bot_config_file(name))
        try:
            bot_cls = load_bot(name, config)
            bot_settings(config, bot_cls, config.bot_config(name))
            item_rules(bot_cls, config.bot_config(name))  # check_first, save_every
        except BoroughError as exc:
            note(exc)
    for extra in extra_checks:
        try:
            checked += extra(config)
        except BoroughError as exc:
            note(exc)
    return problems, checked


def check_warnings(extra_warnings: Sequence[Callable[[Config], list[str]]] = ()) -> list[str]:
    """Settings that are valid but unsafe (e.g. a heartbeat close to the lease);
    ``extra_warnings`` add others' (the scheduler's), given the loaded config."""
    try:
        config = load_config()
    except BoroughError:
        return []
    warnings = config.settings.ledger.warnings()
    for extra in extra_warnings:
        with suppress(BoroughError):  # a broken file is reported as a problem by the checks
            warnings += extra(config)
    return warnings
