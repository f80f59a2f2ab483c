"""What a run is given: its input files and their fingerprints (its settings block:
:func:`borough.registry.bot_settings`)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from borough import inputs
from borough.config.models import BotConfig
from borough.runtime import Runtime


def resolve_inputs(
    runtime: Runtime, bot_config: BotConfig | None, overrides: Mapping[str, str]
) -> dict[str, Path]:
    """Each input as an :class:`~borough.inputs.InputFile` (path + encoding, sheet, limits)."""
    declared = dict(bot_config.inputs) if bot_config else {}
    file = runtime.config.bot_config_file(bot_config.bot) if bot_config else None
    return inputs.resolve_inputs(runtime.paths.home, declared, overrides, declared_in=file)


def fingerprints(inputs: Mapping[str, Path]) -> dict[str, Any]:
    """Input files by name and content hash (paths may hold names; hashes do not)."""
    result: dict[str, Any] = {}
    for name, path in inputs.items():
        entry: dict[str, Any] = {"file": path.name}
        if path.is_file():
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        result[name] = entry
    return result
