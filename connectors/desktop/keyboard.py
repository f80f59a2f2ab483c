"""Keys and clicks through pyautogui, imported only once DISPLAY names a live X server.

pyautogui opens one X connection when it is imported and uses it for ever. Here every
connector gets pyautogui bound to a fresh connection to its own display, and the last one
to close closes it, so nothing talks to a display that has gone and nothing leaks.
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
_users: dict[str, int] = {}  # display name -> connectors using pyautogui on it


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
    if display_name not in _users:
        from Xlib.display import Display

        old, x11._display = x11._display, Display(display_name)
        if old is not None:
            with contextlib.suppress(Exception):  # its server may be gone already
                old.close()
        _users.clear()
        _users[display_name] = 0
    _users[display_name] += 1
    pyautogui.FAILSAFE = False  # the virtual pointer may rest in a corner; nobody is watching
    module: ModuleType = pyautogui
    return module


def release_pyautogui(display_name: str) -> None:
    """One connector is done; the last one on the display closes pyautogui's connection."""
    if display_name not in _users:
        return
    _users[display_name] -= 1
    if _users[display_name] <= 0:
        del _users[display_name]
        x11: Any = sys.modules.get("pyautogui._pyautogui_x11")
        if x11 is not None and x11._display is not None:
            x11._display.close()
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
