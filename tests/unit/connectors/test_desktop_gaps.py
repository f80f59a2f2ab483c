"""Desktop gaps a bot author met (no display needed): env: for the app's command, several
keys to reach a field, read-back normalisation, waiting for a field's state, PRIMARY
read-back settings, and a form field that does not clash with pydantic's Field."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from borough.config.models import AppConfig
from borough.connect import app_settings
from borough.errors import BusinessRuleError, ConfigError, TransientError
from connectors.desktop import FormField
from connectors.desktop.app import app_environment
from connectors.desktop.forms import enter_fields, verify_fields
from connectors.desktop.session import Session

BASE = {"kind": "desktop", "main_window": "Client"}


def settings(**keys: Any) -> Any:
    return app_settings("client", AppConfig.model_validate({**BASE, **keys}))


def test_env_reaches_the_apps_command_expanded_over_the_runs_own(tmp_path: Path):
    env = app_environment({"CLIENT_INI": "{home}/client.ini", "PY": "{python}"}, tmp_path)
    assert env is not None
    assert env["CLIENT_INI"] == f"{tmp_path}/client.ini" and env["PY"] == sys.executable
    assert env["PATH"] == os.environ["PATH"]  # the run's environment is kept
    assert app_environment({}, tmp_path) is None  # nothing set: inherited as it is
    assert settings(env={"LANG": "en_GB.UTF-8"}).env == {"LANG": "en_GB.UTF-8"}


@pytest.mark.parametrize(
    ("name", "why"), [("1X", "not a variable name"), ("DB_PASSWORD", "looks like a secret")]
)
def test_env_refuses_bad_names_and_secrets(name: str, why: str):
    with pytest.raises(ConfigError, match=why):
        settings(env={name: "x"})


def test_read_back_is_clipboard_unless_the_app_offers_only_primary():
    assert settings().read_back == "clipboard"
    assert settings(read_back="primary").read_back == "primary"
    with pytest.raises(ConfigError, match="'clipboard' or 'primary'"):
        settings(read_back="secondary")


class Keys:
    def __init__(self) -> None:
        self.pressed: list[str] = []

    def press(self, *chords: str) -> None:
        self.pressed.extend(chords)


class Held(Session):
    """A session whose fields are a dict: focus records the keys pressed."""

    def __init__(self, shows: dict[str, str] | None = None, script: list[str] | None = None):
        super().__init__("client", settings(), None, Keys(), None, None)  # type: ignore[arg-type]
        self.shows = shows or {}
        self.script = list(script or [])

    def fill_field(self, target: Any, value: str, label: str | None = None) -> str:
        self.focus(target)
        return self.shows.get(value, value)

    def read_field(self, target: Any, expected: str | None = None, label: str | None = None):
        self.focus(target)
        return self.script.pop(0) if self.script else self.shows.get(expected or "", "")


@pytest.mark.parametrize("focus", ["alt+c tab tab", ("alt+c", "tab", "tab")])
def test_a_field_reached_by_several_keys_gets_them_in_order(focus: Any):
    session = Held()
    enter_fields(session, [FormField("Postcode", "SW1A 1AA", focus)])
    assert session.keys.pressed == ["alt+c", "tab", "tab"]


def test_a_value_the_app_shows_its_own_way_passes_with_a_normaliser():
    session = Held(shows={"sw1a 1aa": "SW1A 1AA", "1234.5": "1,234.50"})
    amount = FormField(
        "Amount", "1234.5", "alt+a", normalise=lambda t: f"{float(t.replace(',', '')):.2f}"
    )
    enter_fields(session, [FormField("Postcode", "sw1a 1aa", "alt+p", normalise=str.upper), amount])
    verify_fields(session, [FormField("Postcode", "sw1a 1aa", "alt+p", normalise=str.upper)])
    with pytest.raises(BusinessRuleError, match="'Postcode' does not hold what was entered"):
        enter_fields(session, [FormField("Postcode", "sw1a 1aa", "alt+p")])  # exact: differs


def test_waiting_for_a_fields_state_returns_its_text_or_names_what_never_came():
    session = Held(script=["", "", "CT0001234"])
    assert session.wait_field("alt+r", str.strip, "a reference", timeout=5) == "CT0001234"
    never = Held(script=["", "", ""])
    with pytest.raises(TransientError, match=r"did not show a reference within 0\.2s"):
        never.wait_field("alt+r", str.strip, "a reference", label="Reference", timeout=0.2)


def test_the_form_field_is_not_pydantics():
    from pydantic import Field

    assert FormField is not Field
