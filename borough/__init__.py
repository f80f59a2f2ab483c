"""borough: scheduled, exactly-once, audited bots for UK council legacy systems.

Only the bot author's API is exported here; importing borough starts nothing.
"""

from __future__ import annotations

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
