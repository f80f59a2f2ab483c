"""The desktop connector's config keys, key chords and error messages (no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from borough.config.models import AppConfig
from borough.connect import AppServices, app_settings
from borough.errors import ConfigError, ConnectorError
from connectors.desktop import DesktopConnector, DesktopSettings, display
from connectors.desktop.app import expand_command
from connectors.desktop.clipboard import require_xclip
from connectors.desktop.display import DisplayLock
from connectors.desktop.forms import difference
from connectors.desktop.settings import chord_keys


@pytest.mark.parametrize(
    ("chord", "keys"),
    [
        ("ctrl+/", ["ctrl", "/"]),
        ("ctrl++", ["ctrl", "+"]),
        ("+", ["+"]),
        ("Alt+S", ["alt", "S"]),
        ("tab", ["tab"]),
        ("ctrl+shift+F5", ["ctrl", "shift", "f5"]),
    ],
)
def test_chords_split_into_pyautogui_key_names(chord: str, keys: list[str]):
    assert chord_keys(chord) == keys


@pytest.mark.parametrize("chord", ["", "ctrl+", "+ctrl", "ctrl++s"])
def test_malformed_chords_are_refused(chord: str):
    with pytest.raises(ValueError, match="chord"):
        chord_keys(chord)


def test_the_apps_credential_reaches_the_connector_and_a_password_never_does():
    app = AppConfig(kind="desktop", credential="revenues-desktop", main_window="Main")
    settings = app_settings("revenues", app)
    assert isinstance(settings, DesktopSettings)
    assert settings.credential == "revenues-desktop"
    with pytest.raises(ValueError, match="'password' must not be written in config"):
        AppConfig(kind="desktop", main_window="Main", password="s3cret")


def test_unknown_keys_and_bad_values_are_config_errors():
    with pytest.raises(ConfigError, match="Extra inputs are not permitted"):
        app_settings("revenues", AppConfig(kind="desktop", main_window="M", colour="red"))
    with pytest.raises(ConfigError, match="screen_size must be WIDTHxHEIGHT"):
        app_settings("revenues", AppConfig(kind="desktop", main_window="M", screen_size="big"))
    with pytest.raises(ConfigError, match="malformed key chord"):
        app_settings("revenues", AppConfig(kind="desktop", main_window="M", select_all="ctrl+"))
    with pytest.raises(ConfigError, match="Input should be 'ok', 'business_rule'"):
        app_settings(
            "revenues", AppConfig(kind="desktop", main_window="M", dialogs={"Oops": "retry"})
        )


def test_command_placeholders_are_filled(tmp_path: Path):
    command = expand_command(["{python}", "-m", "app", "--db", "{home}/var/app.db"], tmp_path)
    assert command[0].endswith("python") or "python" in Path(command[0]).name
    assert command[-1] == f"{tmp_path}/var/app.db"


def test_read_back_differences_never_show_the_values():
    assert difference("Montgomery-Fitzwilliam", "Montgomery") == "the app kept 10 of 22 characters"
    assert difference("Zoë", "") == "the field is empty"
    assert difference("LS1 4AP", "ls1 4ap") == "letter case differs"
    assert difference("LS1 4AP", " LS1 4AP") == "spaces differ"
    assert difference("£12.50", "£21.50") == "the text differs (6 characters held, 6 entered)"


def services(tmp_path: Path) -> AppServices:
    return AppServices(
        secret=lambda name: "x",
        capture=lambda *a, **k: None,
        step=lambda *a, **k: None,
        home=tmp_path,
        run_folder=tmp_path / "run",
    )


def test_no_display_and_no_virtual_display_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    settings = DesktopSettings(main_window="Main", virtual_display=False)
    with pytest.raises(ConnectorError, match="no DISPLAY is set and virtual_display is off"):
        DesktopConnector("revenues", settings, services(tmp_path))


def test_missing_xvfb_is_named_with_its_package(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setattr(display, "_shared", {})  # no Xvfb of this process to share
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing installed
    with pytest.raises(ConnectorError, match=r"no DISPLAY is set and Xvfb is not installed"):
        DesktopConnector("revenues", DesktopSettings(main_window="Main"), services(tmp_path))


def test_a_display_nobody_serves_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":97")
    with pytest.raises(ConnectorError, match=r"cannot connect to the X display :97 .* running\?"):
        DesktopConnector("revenues", DesktopSettings(main_window="Main"), services(tmp_path))


def test_missing_xclip_is_named_with_its_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConnectorError, match=r"xclip is not installed \(apt-get install xclip\)"):
        require_xclip()


def test_the_display_lock_admits_one_bot_and_names_the_holder():
    first, second = DisplayLock(":unit-test"), DisplayLock(":unit-test")
    first.acquire(timeout=0)
    try:
        with pytest.raises(
            ConnectorError, match=rf"in use by another desktop bot \(pid {os.getpid()}\)"
        ):
            second.acquire(timeout=0.1)
    finally:
        first.release()
    second.acquire(timeout=0)
    second.release()
