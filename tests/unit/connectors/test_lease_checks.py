"""Connectors re-check the run's lease right before saving, and save nothing without it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from borough.connect import AppServices
from borough.errors import RunFencedError
from connectors.desktop.connector import DesktopConnector
from connectors.web.session import WebSession
from connectors.web.settings import WebSettings


def fenced() -> None:
    raise RunFencedError("run X stopped itself: it was silent for 9.0 s")


def services(check_lease=fenced) -> AppServices:
    return AppServices(
        secret=lambda name: "pw",
        capture=lambda *a, **k: None,
        step=lambda *a, **k: None,
        home=Path("/nonexistent"),
        run_folder=Path("/nonexistent"),
        check_lease=check_lease,
    )


def test_a_web_step_that_saves_checks_the_lease_first():
    web = WebSession(
        "casework", WebSettings(base_url="http://127.0.0.1:9/", credential="login"), services()
    )
    web.open = lambda: None  # type: ignore[method-assign]  # no browser needed
    done: list[str] = []
    assert web.run("search", lambda: done.append("search") or "found") == "found"
    with pytest.raises(RunFencedError):
        web.run("save", lambda: done.append("save"), repeatable=False)
    assert done == ["search"], "nothing was saved"


def test_the_desktop_save_key_is_pressed_only_under_the_lease():
    pressed: list[str] = []
    client = DesktopConnector.__new__(DesktopConnector)
    client.session = SimpleNamespace(press=lambda *chords: pressed.extend(chords))  # type: ignore[assignment]
    client.services = services()
    with pytest.raises(RunFencedError):
        client.save("ctrl+s")
    client.services = services(check_lease=lambda: None)
    client.save("ctrl+s")
    assert pressed == ["ctrl+s"]
