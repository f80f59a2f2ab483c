"""The bot author's API is exactly what ``borough`` exports, sorted; nothing else leaks."""

from __future__ import annotations

import subprocess
import sys

import borough


def test_public_api_is_small_and_sorted():
    assert borough.__all__ == sorted(borough.__all__)
    assert set(borough.__all__) == {
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
    }
    for name in borough.__all__:
        assert getattr(borough, name).__module__.startswith("borough.")


def test_importing_borough_starts_nothing():
    code = (
        "import sys, borough; from loguru import logger; "
        "print(len(logger._core.handlers), 'scheduler' in sys.modules, 'playwright' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # loguru's own default stderr handler only; borough adds none and imports no scheduler
    assert out.stdout.split() == ["1", "False", "False"]
