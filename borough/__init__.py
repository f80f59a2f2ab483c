"""borough: scheduled, exactly-once, audited bots for UK council legacy systems.

Only the bot author's API is exported here; importing borough starts nothing and loads
nothing heavy: each name is imported on first use, so ``borough --help`` (which imports
``borough.cli``, and so this package) does not pay for pydantic, loguru or SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from borough.bot import Bot, Item
    from borough.config.models import RetryPolicy
    from borough.context import RunContext
    from borough.errors import (
        BoroughError,
        BusinessRuleError,
        ConfigError,
        InputError,
        ItemError,
        NeedsReviewError,
        SkipItem,
        TransientError,
    )

__version__ = "0.1.0"

#: where each exported name lives
_HOMES = {
    "BoroughError": "borough.errors",
    "Bot": "borough.bot",
    "BusinessRuleError": "borough.errors",
    "ConfigError": "borough.errors",
    "InputError": "borough.errors",
    "Item": "borough.bot",
    "ItemError": "borough.errors",
    "NeedsReviewError": "borough.errors",
    "RetryPolicy": "borough.config.models",
    "RunContext": "borough.context",
    "SkipItem": "borough.errors",
    "TransientError": "borough.errors",
}

__all__ = [
    "BoroughError",
    "Bot",
    "BusinessRuleError",
    "ConfigError",
    "InputError",
    "Item",
    "ItemError",
    "NeedsReviewError",
    "RetryPolicy",
    "RunContext",
    "SkipItem",
    "TransientError",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'borough' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once imported, an ordinary module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
