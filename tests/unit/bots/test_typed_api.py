"""The example bots and the scaffolds are typed without escape hatches (the project's
mypy --strict gate checks the examples; tests/unit/cli/test_new_bot.py the scaffolds)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted(
    [*(ROOT / "borough_examples").rglob("*.py"), *(ROOT / "borough" / "templates").rglob("*.tmpl")]
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_type_ignore_cast_or_data_assert(path: Path):
    text = path.read_text("utf-8")
    assert "type: ignore" not in text
    assert "cast(" not in text
    assert "data is not None" not in text
