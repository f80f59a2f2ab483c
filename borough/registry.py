"""Find bots by name: ``entry:`` in ``config/bots/<name>.yaml``, else the ``borough.bots``
entry points; validate a bot's ``settings:`` against its model."""

from __future__ import annotations

import functools
import importlib
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from borough.bot import Bot
from borough.config.loader import Config, config_error_from
from borough.config.models import BotConfig
from borough.config.yaml_lines import load_yaml
from borough.errors import BotNotFoundError, ConfigError

GROUP = "borough.bots"


@functools.cache
def installed_bots() -> dict[str, str]:
    """``{name: "module:Class"}`` of bots installed as entry points (read once a process)."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def known_bots(config: Config) -> list[str]:
    return sorted({*installed_bots(), *config.bot_names()})


def load_bot(name: str, config: Config) -> type[Bot[Any, Any]]:
    bot_config = config.bot_config(name)
    if bot_config is not None and bot_config.kind == "recipe":
        from borough.recipes.bot import recipe_bot

        return recipe_bot(config, bot_config)
    target = bot_config.entry if bot_config and bot_config.entry else installed_bots().get(name)
    if target is None:
        known = ", ".join(known_bots(config)) or "(none)"
        raise BotNotFoundError(f"no bot named {name!r}; known bots: {known}")
    council_first(config.paths.home, target)
    cls = import_target(target, where=str(config.bot_config_file(name)))
    if not (isinstance(cls, type) and issubclass(cls, Bot)):
        raise ConfigError(f"{target} is not a borough Bot subclass", field="entry")
    if getattr(cls, "name", None) != name:
        raise ConfigError(
            f"{target} declares name {getattr(cls, 'name', None)!r}, but it is registered as "
            f"{name!r}",
            field="entry",
        )
    return cls


def council_first(home: Path, target: str) -> None:
    """Import ``target``'s package from the bots repository at ``home`` if it is there,
    before anything installed: a council's bots run from their repository without an
    install step or ``PYTHONPATH`` (and no installed package can hide them)."""
    top = target.partition(":")[0].partition(".")[0]
    if not ((home / top / "__init__.py").exists() or (home / f"{top}.py").exists()):
        return
    folder = str(home.resolve())
    if sys.path[:1] != [folder]:
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
    loaded = sys.modules.get(top)
    origin = getattr(loaded, "__file__", None) or ""
    if loaded is not None and not Path(origin).resolve().is_relative_to(folder):
        # imported from elsewhere before (an installed package of the same name): forget it
        for module in [m for m in sys.modules if m == top or m.startswith(f"{top}.")]:
            del sys.modules[module]
    importlib.invalidate_caches()


def import_target(target: str, *, where: str) -> object:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"cannot import {module_name!r} ({exc})", file=where, field="entry"
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(
            f"module {module_name!r} has no {attr!r}", file=where, field="entry"
        ) from None


def bot_settings(config: Config, bot_cls: type[Bot[Any]], bot_config: BotConfig | None) -> Any:
    """The bot's ``settings:`` block validated by its ``settings_model`` (errors name the line)."""
    raw = bot_config.settings if bot_config else {}
    model = bot_cls.settings_model
    if model is None:
        return dict(raw)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        file = config.bot_config_file(bot_cls.name)
        doc = load_yaml(file) if file.exists() else None
        if doc is None:
            raise
        raise config_error_from(exc, model, doc, ("settings",)) from None
