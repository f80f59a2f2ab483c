"""What a run is given: its input files, its settings block, and their fingerprints."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from borough import inputs
from borough.bot import Bot
from borough.config.loader import Config, config_error_from
from borough.config.models import BotConfig
from borough.config.yaml_lines import load_yaml
from borough.runtime import Runtime


def resolve_inputs(
    runtime: Runtime, bot_config: BotConfig | None, overrides: Mapping[str, str]
) -> dict[str, Path]:
    """Each input as an :class:`~borough.inputs.InputFile` (path + encoding, sheet, limits)."""
    declared = dict(bot_config.inputs) if bot_config else {}
    file = runtime.config.bot_config_file(bot_config.bot) if bot_config else None
    return inputs.resolve_inputs(runtime.paths.home, declared, overrides, declared_in=file)


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


def fingerprints(inputs: Mapping[str, Path]) -> dict[str, Any]:
    """Input files by name and content hash (paths may hold names; hashes do not)."""
    result: dict[str, Any] = {}
    for name, path in inputs.items():
        entry: dict[str, Any] = {"file": path.name}
        if path.is_file():
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        result[name] = entry
    return result
