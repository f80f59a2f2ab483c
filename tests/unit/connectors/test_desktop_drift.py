"""What the desktop drift check reports for a window, without a display: titles, the keys
that name them in apps.yaml, and in image mode the text anchors OCR no longer reads."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from connectors.desktop import drift
from connectors.desktop.settings import DesktopSettings

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = yaml.safe_load((ROOT / "config/apps.yaml").read_text(encoding="utf-8"))["apps"]


def fake_app(entry: dict[str, Any], showing: list[str]) -> Any:
    """Enough of a DesktopConnector for the element checks: its settings and windows."""
    settings = DesktopSettings.model_validate(
        {k: v for k, v in entry.items() if k not in ("kind", "identifiers")}
    )
    windows = SimpleNamespace(titles=lambda: showing)
    return SimpleNamespace(
        name="revenues", settings=settings, session=SimpleNamespace(windows=windows)
    )


def check(app: Any, shown: str) -> list:
    return drift._check_element(app, "change form", "window", "title:New CTR change", shown=shown)


def entry(name: str) -> dict[str, Any]:
    return {k: v for k, v in SHIPPED[name].items() if k not in ("description", "max_sessions")}


def test_the_window_that_opened_is_proposed_and_renamed_where_apps_yaml_keys_it():
    app = fake_app(entry("revenues-desktop"), ["Revenues Client", "New CTR change (v5)"])
    (lost,) = check(app, "New CTR change (v5)")
    assert lost.status == "missing" and lost.detail.endswith("'New CTR change (v5)'")
    assert lost.proposal is not None and lost.proposal.locator == "title:New CTR change (v5)"
    assert lost.proposal.rename_to == "New CTR change (v5)"
    assert lost.renames == (("home_keys", "New CTR change"),)
    assert "title:Revenues Client" not in [c.locator for c in lost.candidates], "known windows"
    (same,) = check(app, "New CTR change")
    assert same.status == "ok"


def test_in_image_mode_each_anchor_ocr_no_longer_reads_is_reported_with_the_nearest_text(
    monkeypatch: pytest.MonkeyPatch,
):
    read = {"Weekly amount": (False, [(0.71, "Weekly reduction"), (0.3, "Postcode")])}
    monkeypatch.setattr(drift, "find_text", lambda app, text: read.get(text, (True, [])))
    app = fake_app(entry("revenues-published"), [])
    lost, anchor = check(app, "Revenues Client")
    assert lost.status == "missing"
    assert anchor.screen == "change form" and anchor.element == "New CTR change anchor"
    assert anchor.locator == "Weekly amount" and anchor.status == "missing"
    assert anchor.path == ("pixels", "screens", "New CTR change", "text", 0)
    assert anchor.proposal is not None and anchor.proposal.locator == "Weekly reduction"
