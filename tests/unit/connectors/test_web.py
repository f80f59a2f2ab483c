"""The web connector without a browser: settings, page verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from borough.config.check import check_all
from borough.errors import BusinessRuleError, ConnectorError, TransientError
from connectors.web import browser
from connectors.web.checks import PageState, SessionExpired, raise_for_page
from connectors.web.settings import WebSettings

SETTINGS = WebSettings(
    base_url="http://127.0.0.1:9/",
    credential="casework-login",
    ready_selector="#cw-footer",
    validation_selector="#valSummary li",
    transient_texts=["Record locked"],
)


def state(**changes: object) -> PageState:
    fields: dict[str, object] = {"login": False, "ready": True, "said": None, "messages": []}
    fields.update(changes)
    return PageState(**fields)  # type: ignore[arg-type]


def verdict(page: PageState, **kwargs: object) -> BaseException | None:
    try:
        raise_for_page(page, SETTINGS, app="casework", step="save", **kwargs)  # type: ignore[arg-type]
    except Exception as exc:
        return exc
    return None


def test_an_ordinary_complete_page_passes():
    assert verdict(state()) is None
    assert verdict(state(messages=["Surname is required."])) is None  # only when asked


def test_each_kind_of_trouble_becomes_the_right_error():
    assert isinstance(verdict(state(), status=500), TransientError)
    assert "HTTP 503" in str(verdict(state(), status=503))
    assert isinstance(verdict(state(login=True)), SessionExpired)
    locked = verdict(state(said="Record locked: by JSMITH.\n  Try later."))
    assert isinstance(locked, TransientError)
    assert str(locked) == "the app said: Record locked: by JSMITH. Try later. (app casework, save)"
    assert "half-rendered" in str(verdict(state(ready=False)))
    assert len(str(verdict(state(said="x" * 1000)))) < 340
    rejected = verdict(state(messages=["Surname is required.", "Surname is required."]),
                       validation=True)  # fmt: skip
    assert isinstance(rejected, BusinessRuleError)
    assert str(rejected) == "the app rejected the form: Surname is required. (app casework, save)"


def test_a_server_error_page_is_not_mistaken_for_a_login_or_validation():
    page = state(login=True, ready=False, messages=["x"])
    assert "HTTP 500" in str(verdict(page, status=500, validation=True))


def test_settings_refuse_a_base_url_without_scheme():
    with pytest.raises(ValueError, match="base_url must start with http"):
        WebSettings(base_url="casework.local", credential="x")
    assert SETTINGS.url("/login") == "http://127.0.0.1:9/login"


@pytest.mark.parametrize(
    "base", ["https://apps.council.local/caseflow", "https://apps.council.local/caseflow/"]
)
@pytest.mark.parametrize("path", ["/login", "login"])
def test_a_base_url_with_a_path_keeps_it_before_every_page_path(base: str, path: str):
    settings = WebSettings(base_url=base, credential="x")
    assert settings.url(path) == "https://apps.council.local/caseflow/login"
    assert settings.url("https://sso.council.local/login") == "https://sso.council.local/login"


def test_the_page_checks_run_in_their_documented_order():
    # 5xx, then the sign-in form, then a transient text, then half-rendered, then validation
    everything = state(
        login=True, ready=False, messages=["Surname is required."], said="Record locked"
    )
    assert "HTTP 502" in str(verdict(everything, status=502, validation=True))
    assert "session ended" in str(verdict(everything, validation=True))
    no_login = state(login=False, ready=False, messages=["x"], said="Record locked")
    assert "the app said: Record locked" in str(verdict(no_login, validation=True))
    assert "half-rendered" in str(verdict(state(ready=False, messages=["x"]), validation=True))
    assert isinstance(verdict(state(messages=["x"]), validation=True), BusinessRuleError)
    assert verdict(state(messages=["x"]), validation=False) is None


def test_shipped_apps_yaml_is_valid_and_credential_is_required(cli_env, home: Path):
    problems, _ = check_all()
    assert problems == []
    apps_file = home / "config" / "apps.yaml"
    apps = yaml.safe_load(apps_file.read_text(encoding="utf-8"))
    del apps["apps"]["casework"]["credential"]
    apps["apps"]["casework"]["password"] = "oops"
    apps_file.write_text(yaml.safe_dump(apps), encoding="utf-8")
    problems, _ = check_all()
    assert any("'password' must not be written in config" in p for p in problems), problems


def test_credential_missing_is_named(cli_env, home: Path):
    apps_file = home / "config" / "apps.yaml"
    apps = yaml.safe_load(apps_file.read_text(encoding="utf-8"))
    del apps["apps"]["casework"]["credential"]
    apps_file.write_text(yaml.safe_dump(apps), encoding="utf-8")
    problems, _ = check_all()
    assert any("apps.yaml" in p and "credential" in p for p in problems), problems


def test_missing_browser_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    with pytest.raises(ConnectorError, match=r"apt-get install chromium"):
        browser.find_chromium()
    with pytest.raises(ConnectorError, match=r"'chromium-beta'.*not found"):
        browser.find_chromium("chromium-beta")
