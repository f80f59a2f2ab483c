"""Connector plumbing: kind settings get the app's credential name; items are announced."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel

from borough import connect
from borough.config.models import AppConfig
from borough.runner import RunRequest, run_bot
from borough.testing import CountingTarget, runtime_in
from tests.support.installs import counting_home, people


class _WithCredential(BaseModel):
    url: str
    credential: str


class _Plain(BaseModel):
    url: str


def _fake(settings: type[BaseModel]) -> type[connect.Connector]:
    class Fake(connect.Connector):
        kind: ClassVar[str] = "fake"
        Settings: ClassVar[type[BaseModel]] = settings

        def close(self) -> None:
            pass

    return Fake


def test_settings_that_declare_credential_receive_the_secret_name(monkeypatch):
    app = AppConfig(kind="fake", credential="casework-login", url="http://x")
    monkeypatch.setattr(connect, "connector_class", lambda kind: _fake(_WithCredential))
    settings = connect.app_settings("casework", app)
    assert settings.credential == "casework-login"
    assert app.options == {"url": "http://x"}  # the app config itself is untouched


def test_settings_without_credential_do_not_see_it(monkeypatch):
    app = AppConfig(kind="fake", credential="casework-login", url="http://x")
    monkeypatch.setattr(connect, "connector_class", lambda kind: _fake(_Plain))
    assert connect.app_settings("casework", app).model_dump() == {"url": "http://x"}


def test_every_item_is_announced_to_the_open_connectors(tmp_path: Path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(CountingTarget, "begin_item", lambda self: calls.append(self.name))
    home = counting_home(tmp_path, people(4))
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
    assert run.counts.done == 4
    # the connector opens during the first item, so it hears of the three after it
    assert calls == ["counting"] * 3


def test_the_test_double_is_no_installed_kind_but_can_be_named_by_class():
    import pytest

    from borough.errors import ConfigError
    from borough.testing import COUNTING_KIND

    with pytest.raises(ConfigError, match="unknown connector kind 'counting'"):
        connect.connector_class("counting")
    assert connect.connector_class(COUNTING_KIND) is CountingTarget
    assert connect.connector_class("files").__name__ == "FilesConnector"
    with pytest.raises(ConfigError, match="is not a borough Connector"):
        connect.connector_class("borough.testing:make_home")
    with pytest.raises(ConfigError, match="cannot import 'no_such_module'"):
        connect.connector_class("no_such_module:Thing")
