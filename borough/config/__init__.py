"""Configuration: YAML files in ``config/`` validated by pydantic, errors naming file:line."""

from __future__ import annotations

from borough.config.loader import Config, load_config, validate_file
from borough.config.paths import Paths, resolve_paths

__all__ = ["Config", "Paths", "load_config", "resolve_paths", "validate_file"]
