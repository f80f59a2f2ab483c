"""The drift check of a desktop app: open each declared screen from the main window with its
keys, look at it, and close it again (nothing is typed, nothing saved).

Locators of a desktop screen:

* ``title:TEXT``: the window showing is titled TEXT (in image mode: the declared screen of
  that name shows; its text anchors are then checked one by one);
* ``image:FILE``: the reference image shows on the screen (FILE in the app's ``images:``
  folder, or an absolute path);
* ``text:TEXT`` (image mode): TEXT shows on the screen, as OCR reads it.

A broken title's candidates are the window that opened instead and the other windows
showing; a broken text's, the nearest text OCR reads on the screen. A title that also keys
``home_keys`` or ``dialogs`` is renamed there too when its fix is accepted.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from borough.drift.report import (
    Candidate,
    Finding,
    Path,
    element_path,
    not_visited,
    unreached,
)
from borough.drift.screens import ScreenDecl, locator_of
from borough.drift.similar import similarity
from borough.errors import BoroughError, ConfigError, ConnectorError

if TYPE_CHECKING:
    from connectors.desktop.connector import DesktopConnector

Baseline = Mapping[tuple[str, str], dict[str, Any]]
PREFIXES = ("title:", "image:", "text:")
#: the window that opened when the screen's keys were pressed is the likeliest candidate
OPENED_BONUS = 0.25
PIXELS_SETTLE = 1.5
IMAGE_WAIT = 3.0


def check(app: DesktopConnector, baseline: Baseline) -> list[Finding]:
    """Findings for every element of every declared screen of ``app``."""
    findings: list[Finding] = []
    for name, screen in app.settings.screens.items():
        findings += _check_screen(app, name, screen)
    return findings


def _check_screen(app: DesktopConnector, name: str, screen: ScreenDecl) -> list[Finding]:
    if not screen.visited:
        return not_visited(name, screen.elements, screen.reach)
    main = app.settings.main_window
    try:
        app.home()
        shown = _open(app, screen.reach)
    except BoroughError as exc:
        return unreached(name, screen.elements, screen.reach, str(exc))
    try:
        findings = []
        for element, locator in screen.elements.items():
            findings += _check_element(app, name, element, locator, shown=shown)
        return findings
    finally:
        if screen.reach.strip() and app.active_title() not in (main, None):
            app.press("escape")  # leave the screen the way a person would, then go home
        app.home()


def _open(app: DesktopConnector, reach: str) -> str | None:
    """Press the screen's keys from the main window; the title of what then shows."""
    keys = reach.split()
    if not keys:
        return app.active_title()
    main = app.settings.main_window
    app.press(*keys)
    if app.settings.mode == "pixels":  # a screen whose anchors changed has no "title" at all
        time.sleep(PIXELS_SETTLE)
        return app.active_title()
    return app.session.wait_for(lambda title: title not in (None, main), f"keys {reach!r} to open")


def _check_element(
    app: DesktopConnector, screen: str, element: str, locator: str, *, shown: str | None
) -> list[Finding]:
    path = element_path(screen, element)
    kind, _, value = locator.partition(":")
    if f"{kind}:" not in PREFIXES:
        raise ConnectorError(
            f"app {app.name!r}, screen {screen!r}: locator {locator!r} must start with "
            "title:, image: or text:"
        )
    if kind == "title":
        if shown == value:
            title: dict[str, Any] = {"title": shown}
            return [Finding(screen, element, locator, "ok", path=path, fingerprint=title)]
        lost = Finding(
            screen,
            element,
            locator,
            "missing",
            detail=f"the window showing is titled {shown!r}",
            candidates=_titles(app, value, shown),
            path=path,
            renames=_keyed_by(app, value),
        )
        return [lost, *_anchors(app, screen, value)]
    if kind == "image":
        box = app.locate(value, timeout=IMAGE_WAIT)  # a window draws after it shows
        if box is not None:
            place: dict[str, Any] = {"left": box.left, "top": box.top}
            return [Finding(screen, element, locator, "ok", path=path, fingerprint=place)]
        return [Finding(screen, element, locator, "missing", "the image shows nowhere", path=path)]
    return [_text(app, (screen, element), f"{kind}:", value, path)]


def _anchors(app: DesktopConnector, screen: str, title: str) -> list[Finding]:
    """Image mode: each text anchor of the screen named ``title`` that OCR no longer reads."""
    pixels = app.settings.pixels if app.settings.mode == "pixels" else None
    spec = pixels.screens.get(title) if pixels else None
    if spec is None:
        return []
    findings = []
    for index, text in enumerate(spec.text):
        path = ("pixels", "screens", title, "text", index)
        found = _text(app, (screen, f"{title} anchor"), "", text, path)
        if found.broken:
            findings.append(found)
    return findings


def _titles(app: DesktopConnector, wanted: str, shown: str | None) -> tuple[Candidate, ...]:
    """Windows showing now, the one that opened first, as candidates for a lost title."""
    settings = app.settings
    known = {settings.main_window, settings.login_window, *settings.dialogs, *settings.home_keys}
    scored = []
    for title in {*app.session.windows.titles(), *([shown] if shown else [])}:
        if title in known and title != shown:
            continue
        value = similarity(wanted, title) + (OPENED_BONUS if title == shown else 0.0)
        about = "the window that opened" if title == shown else "a window showing"
        scored.append(Candidate(f"title:{title}", min(value, 1.0), about, rename_to=title))
    return tuple(sorted(scored, key=lambda c: -c.score)[:3])


def _keyed_by(app: DesktopConnector, title: str) -> tuple[tuple[str, ...], ...]:
    """Where apps.yaml keys something by this title (it changes with the title)."""
    settings = app.settings
    found = []
    if title in settings.home_keys:
        found.append(("home_keys", title))
    if title in settings.dialogs:
        found.append(("dialogs", title))
    return tuple(found)


def _text(
    app: DesktopConnector, where: tuple[str, str], prefix: str, text: str, path: Path
) -> Finding:
    """A text anchor (image mode): found by OCR, or the nearest texts read on the screen."""
    screen, element = where
    found, nearest = find_text(app, text)
    locator = prefix + text
    if found:
        return Finding(screen, element, locator, "ok", path=path, fingerprint={"text": text})
    candidates = tuple(
        Candidate(prefix + words, score, "text on the screen") for score, words in nearest
    )
    return Finding(
        screen, element, locator, "missing", "OCR reads it nowhere", candidates, path=path
    )


def find_text(app: DesktopConnector, text: str) -> tuple[bool, list[tuple[float, str]]]:
    """Image mode: whether OCR reads ``text`` on the screen now; if not, the nearest texts."""
    from connectors.desktop.pixels import PixelSession, nearest_text
    from connectors.desktop.screentext import find_phrase

    session, pixels = app.session, app.settings.pixels
    if not isinstance(session, PixelSession) or session.screens is None or pixels is None:
        raise ConnectorError(f"app {app.name!r}: text: anchors need mode: pixels")
    words = session.screens.look()
    if find_phrase(words, text, pixels.similarity) is not None:
        return True, []
    return False, [(score, word.text) for score, word in nearest_text(words, text)]


def title_of(app: DesktopConnector, screen: str, element: str) -> str:
    """The window title a declared ``title:`` element names (what a bot waits for)."""
    locator = locator_of(app.settings.screens, app.name, screen, element)
    if not locator.startswith("title:"):
        raise ConfigError(
            f"app {app.name!r}: element {element!r} of screen {screen!r} is {locator!r}, "
            "not a title: locator"
        )
    return locator.removeprefix("title:")
