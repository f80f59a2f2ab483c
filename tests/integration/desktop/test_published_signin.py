"""Signing in to the published client (pixels only, no clipboard) with a password that
holds characters beyond ASCII: every character arrives, as the keysym it is, or the
password is typed again and never submitted short.

The sign-in dialog masks the password, so it cannot be read back: its mask characters are
counted (one ``*`` per character that arrived) before the connector submits, and the client
letting the robot in proves the whole password matched.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from borough.connect import AppServices
from borough.errors import SignInError
from connectors.desktop import DesktopConnector, DesktopSettings, signin
from connectors.desktop.pixels import PixelSession
from connectors.desktop.typing import KeyTyper
from tests.support.casework import SANDBOX_PASSWORD, app_events, casework_rows
from tests.support.published import (
    PUBLISHED,
    published_client,
    published_home,
    require_published,
)

pytestmark = [pytest.mark.xvfb, pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(autouse=True)
def _published_tools() -> None:
    require_published()


def open_published(home: Path, password: str) -> DesktopConnector:
    """The connector of the home's published app, in this process (attached: the test
    started the client); opening it signs in."""
    entry = yaml.safe_load((home / "config/apps.yaml").read_text("utf-8"))["apps"][PUBLISHED]
    skip = ("kind", "description", "max_sessions", "identifiers")
    settings = DesktopSettings.model_validate({k: v for k, v in entry.items() if k not in skip})
    services = AppServices(
        secret=lambda name: password,
        capture=lambda *a, **k: None,
        step=lambda *a, **k: None,
        home=home,
        run_folder=home / "run",
    )
    return DesktopConnector(PUBLISHED, settings, services)


def signed_in(home: Path, display: str, password: str) -> None:
    """Start the published client, open its connector (which signs in), close both."""
    with published_client(home, display):
        connector = open_published(home, password)
        try:
            assert connector.active_title() == "Revenues Client"
        finally:
            connector.close()


@pytest.fixture
def masks_counted(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """Every count of the password box's mask characters the sign-in made."""
    counted: list[int | None] = []
    count = signin.masked_length

    def counting(session: PixelSession, expected: int) -> int | None:
        counted.append(count(session, expected))
        return counted[-1]

    monkeypatch.setattr(signin, "masked_length", counting)
    return counted


def lose_pound_signs(monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """The first ``times`` texts typed with a £ lose their first £ on the way (as when the
    remote side had not yet added the keysym to its own keyboard map)."""
    typed = KeyTyper.type
    left = [times]

    def type_(self: KeyTyper, text: str) -> None:
        if "£" in text and left[0] > 0:
            left[0] -= 1
            text = text.replace("£", "", 1)
        typed(self, text)

    monkeypatch.setattr(KeyTyper, "type", type_)


@pytest.mark.parametrize(
    "password",
    [SANDBOX_PASSWORD, "££ Zoë-Øvergård £12.50", "£"],
    ids=["sandbox", "many-non-ascii", "pound-only"],
)
def test_a_password_with_pound_signs_arrives_whole_through_the_published_client(
    tmp_path: Path,
    desktop_display: str,
    monkeypatch: pytest.MonkeyPatch,
    masks_counted: list[int | None],
    password: str,
):
    monkeypatch.setenv("REVENUES_SANDBOX_PASSWORD", password)
    home = published_home(tmp_path, casework_rows(1, seed=1), attach=True, password=password)
    signed_in(home, desktop_display, password)
    assert masks_counted == [len(password)]


def test_a_lost_pound_sign_is_typed_again_and_the_password_never_submitted_short(
    tmp_path: Path,
    desktop_display: str,
    monkeypatch: pytest.MonkeyPatch,
    masks_counted: list[int | None],
):
    lose_pound_signs(monkeypatch, times=1)
    home = published_home(tmp_path, casework_rows(1, seed=1), attach=True)
    signed_in(home, desktop_display, SANDBOX_PASSWORD)
    assert masks_counted == [len(SANDBOX_PASSWORD) - 1, len(SANDBOX_PASSWORD)]
    assert app_events(home)["sign_in_failed"] == 0


def test_a_password_that_never_arrives_whole_is_not_submitted(
    tmp_path: Path,
    desktop_display: str,
    monkeypatch: pytest.MonkeyPatch,
    masks_counted: list[int | None],
):
    lose_pound_signs(monkeypatch, times=99)
    home = published_home(tmp_path, casework_rows(1, seed=1), attach=True)
    refused = pytest.raises(SignInError, match="nothing was submitted")
    with published_client(home, desktop_display), refused:
        open_published(home, SANDBOX_PASSWORD)
    assert masks_counted == [len(SANDBOX_PASSWORD) - 1] * 2
    events = app_events(home)
    assert events["sign_in_failed"] == 0, "a short password counts towards the lock-out"
    assert events["signed_in"] == 0
