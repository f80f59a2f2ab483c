"""Signing in to the published client (pixels only, no clipboard) with a password that
holds characters beyond ASCII: every character arrives, as the keysym it is, or the
password is typed again and never submitted short.

The sign-in dialog masks the password, so it cannot be read back: its mask characters are
counted (one ``*`` per character that arrived) before the connector submits, and the client
letting the robot in proves the whole password matched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from borough.connect import AppServices
from borough.errors import SignInError
from connectors.desktop import DesktopConnector, DesktopSettings, signin, typing
from connectors.desktop.pixels import PixelSession
from connectors.desktop.typing import KeyTyper, keysym_of
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


@pytest.fixture
def keys_a_killed_bot_left(desktop_display: str) -> Iterator[str]:
    """Characters typed on the robot's display by a typer that is then never closed, as a
    bot killed while typing leaves its re-mapped keys: the next typer finds them on the
    robot's own map, while a freshly started remote side still lacks them. Put back after."""
    from Xlib import display

    left = "£ëØåŁóźÑñáßüéÿ"
    robot_display = display.Display(desktop_display)
    killed = KeyTyper(robot_display)
    killed.type(left)  # before the client starts: no window has the focus
    try:
        yield left
    finally:
        killed.restore()
        robot_display.close()


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


def test_characters_a_killed_bot_left_on_the_robots_map_still_arrive_at_the_first_typing(
    tmp_path: Path,
    desktop_display: str,
    monkeypatch: pytest.MonkeyPatch,
    masks_counted: list[int | None],
    keys_a_killed_bot_left: str,
):
    password = "Łódź Ñañá ßüé £Øå ëÿ"
    assert {c for c in password if not c.isascii()} <= set(keys_a_killed_bot_left)
    monkeypatch.setenv("REVENUES_SANDBOX_PASSWORD", password)
    home = published_home(tmp_path, casework_rows(1, seed=1), attach=True, password=password)
    signed_in(home, desktop_display, password)
    assert masks_counted == [len(password)]


def test_a_character_beyond_ascii_is_given_its_pause_even_where_the_robots_map_has_it(
    desktop_display: str, monkeypatch: pytest.MonkeyPatch, keys_a_killed_bot_left: str
):
    from Xlib import display

    pauses: list[float] = []
    monkeypatch.setattr(typing.time, "sleep", pauses.append)
    robot_display = display.Display(desktop_display)
    try:
        KeyTyper(robot_display, pause_new=0.03).type("a£b")
    finally:
        robot_display.close()
    assert "£" in keys_a_killed_bot_left
    assert pauses == [0.03], "no pause for the remote side to add the £ to its own map"


def map_changes(desktop_display: str, text: str) -> tuple[int, int]:
    """How many times every client on the display was told its keyboard map changed while a
    typer typed ``text`` (no window has the focus), and while it put its keys back."""
    from Xlib import X, display

    def told(watcher: Any) -> int:
        watcher.sync()
        events = [watcher.next_event() for _ in range(watcher.pending_events())]
        return sum(event.type == X.MappingNotify for event in events)

    watcher, robot_display = display.Display(desktop_display), display.Display(desktop_display)
    try:
        told(watcher)
        typer = KeyTyper(robot_display)
        typer.type(text)
        typed = told(watcher)
        typer.restore()
        return typed, told(watcher)
    finally:
        robot_display.close()
        watcher.close()


def test_a_dozen_new_characters_change_the_map_no_more_often_than_one(desktop_display: str):
    """Each change of the map costs every client on the display a re-read (openbox: its
    whole Compose table, near a second): a name with a dozen new characters must not cost a
    dozen, nor its putting back at close."""
    from Xlib import display

    robot_display = display.Display(desktop_display)
    first = robot_display.display.info.min_keycode
    count = robot_display.display.info.max_keycode - first + 1
    mapped = {sym for syms in robot_display.get_keyboard_mapping(first, count) for sym in syms}
    robot_display.close()
    new = [c for c in "ĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖė" if keysym_of(c) not in mapped]  # left by none
    assert len(new) > 13
    map_changes(desktop_display, new[0])  # XTest's first keys on a display add notices of its own
    assert map_changes(desktop_display, "".join(new[1:13])) == map_changes(desktop_display, new[0])


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
