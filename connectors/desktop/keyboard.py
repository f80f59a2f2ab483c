"""Keys and clicks through pyautogui, imported only once DISPLAY names a live X server.

pyautogui opens one X connection when it is imported and uses it for ever. Here it is
bound to the display a connector works on (a new connection when the display changes), and
the connection is closed when that display stops, so nothing talks to a dead server.
"""

from __future__ import annotations

import contextlib
import os
import sys
from types import ModuleType
from typing import Any

from borough.errors import ConnectorError
from connectors.desktop._quiet import quiet_import
from connectors.desktop.settings import chord_keys

DESKTOP_EXTRA = "the desktop extra is not installed: pip install 'borough[desktop]'"


def load_pyautogui(display_name: str) -> ModuleType:
    """pyautogui bound to ``display_name``; pair every call with :func:`release_pyautogui`."""
    os.environ["DISPLAY"] = display_name
    os.environ.setdefault("XDG_SESSION_TYPE", "x11")  # pyscreeze screenshots need it
    try:
        pyautogui: Any = quiet_import("pyautogui")
    except ImportError as exc:
        raise ConnectorError(f"{DESKTOP_EXTRA} ({exc})") from None
    except Exception as exc:  # Xlib's DisplayConnectionError, raised at import
        raise ConnectorError(f"pyautogui cannot use display {display_name}: {exc}") from None
    x11: Any = sys.modules["pyautogui._pyautogui_x11"]
    current = getattr(x11, "_display", None)
    if current is None or current.get_display_name() != display_name:
        from Xlib.display import Display

        x11._display = Display(display_name)
        if current is not None:
            with contextlib.suppress(Exception):  # its server may be gone already
                current.close()
    pyautogui.FAILSAFE = False  # the virtual pointer may rest in a corner; nobody is watching
    module: ModuleType = pyautogui
    return module


def release_pyautogui(display_name: str, *, display_stops: bool) -> None:
    """A connector is done with pyautogui. Its connection stays open for other code in the
    process, unless the display itself is about to stop."""
    if display_stops:
        close_pyautogui(display_name)


def close_pyautogui(display_name: str) -> None:
    """Close pyautogui's connection if it is to ``display_name`` (that display is stopping)."""
    x11: Any = sys.modules.get("pyautogui._pyautogui_x11")
    display = getattr(x11, "_display", None)
    if display is not None and display.get_display_name() == display_name:
        with contextlib.suppress(Exception):
            display.close()
        x11._display = None


class Keyboard:
    """Presses chords like ``"ctrl+s"`` (validated: pyautogui ignores unknown key names)."""

    def __init__(self, pyautogui: Any, pause: float) -> None:
        self._gui = pyautogui
        self._gui.PAUSE = pause
        self._known: dict[str, list[str]] = {}

    def keys(self, chord: str) -> list[str]:
        if chord not in self._known:
            try:
                keys = chord_keys(chord)
            except ValueError as exc:
                raise ConnectorError(str(exc)) from None
            unknown = [key for key in keys if not self._gui.isValidKey(key)]
            if unknown:
                raise ConnectorError(
                    f"unknown key name(s) {', '.join(map(repr, unknown))} in {chord!r}; "
                    "names are pyautogui's (ctrl, alt, shift, enter, tab, escape, f5, /, a ...)"
                )
            self._known[chord] = keys
        return self._known[chord]

    def press(self, *chords: str) -> None:
        for chord in chords:
            keys = self.keys(chord)
            if len(keys) == 1:
                self._gui.press(keys[0])
            else:
                self._gui.hotkey(*keys)

    def click(self, x: int, y: int) -> None:
        self._gui.click(int(x), int(y))
