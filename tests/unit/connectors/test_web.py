"""The web connector without a browser: settings, page verdicts, evidence scrubbing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import yaml

from borough.config.check import check_all
from borough.errors import BusinessRuleError, ConnectorError, TransientError
from connectors.web import browser
from connectors.web.checks import PageState, SessionExpired, raise_for_page
from connectors.web.scrub import LABEL, Scrubber, spellings
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


def test_every_spelling_of_a_typed_value_is_scrubbed():
    scrubber = Scrubber()
    scrubber.keep_out("Zoë O'Brien")
    scrubber.keep_out("S3cret&Pw", lasting=True)
    text = (
        "Zoë O'Brien | Zo%C3%AB+O%27Brien | Zo%C3%AB%20O%27Brien | Zo\\u00eb O'Brien | "
        "Zoë O&#x27;Brien | S3cret%26Pw | S3cret&amp;Pw | NI AB 12 34 56 C, LS1 4AP"
    )
    clean = scrubber.text(text)
    assert "Zo" not in clean and "S3cret" not in clean
    assert "AB 12 34 56 C" not in clean and "LS1 4AP" not in clean
    assert clean.count(LABEL) == 7
    scrubber.new_item()
    assert scrubber.text("Zoë O'Brien") == LABEL  # still on the pages the next item starts on
    scrubber.new_item()
    assert scrubber.text("Zoë O'Brien") == "Zoë O'Brien"  # then forgotten
    assert scrubber.text("S3cret&Pw") == LABEL  # the credential never is
    assert "S3cret%26Pw" in spellings("S3cret&Pw")


def test_a_trace_zip_keeps_text_scrubbed_and_drops_images():
    scrubber = Scrubber()
    scrubber.keep_out("Brontë")
    source = io.BytesIO()
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("trace.trace", '{"params":{"value":"Bront\\u00eb"}}\n')
        archive.writestr("trace.network", '{"postData":"txtSurname=Bront%C3%AB"}\n')
        archive.writestr("resources/abc.html", "<td>BRONTË, Brontë</td>")
        archive.writestr("resources/shot.jpeg", b"\xff\xd8\xff\xe0Bront\xc3\xab")
    with zipfile.ZipFile(io.BytesIO(scrubber.zip(source.getvalue()))) as archive:
        names = archive.namelist()
        texts = {n: archive.read(n).decode() for n in names}
    assert "resources/shot.jpeg" not in names
    assert "1 binary resource(s)" in texts["borough-redaction.txt"]
    assert all("bront" not in t.lower() for t in texts.values())
    assert texts["resources/abc.html"] == f"<td>{LABEL}, {LABEL}</td>"  # any letter case
