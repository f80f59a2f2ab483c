"""Typing any character as key presses, for apps that share no clipboard with the robot.

A remote-desktop viewer forwards key presses as keysyms; the remote side turns each into a
character. Characters that the robot's keyboard map has (ASCII) are pressed with their own
keys (Shift when needed). Any other character (£, Ó, Ł, Þ ...) is given a key of its own:
a free keycode, or one held by a multimedia key nobody presses on a robot, is re-mapped to
that character's keysym. Mappings are kept while the connector lives (re-mapping while the
viewer is still reading an earlier press would change what it reads) and put back at close.
Every change of the map makes each client on the display read it again (openbox re-reads
the whole Compose table, near a second of CPU), so keys are re-mapped a run of adjacent
keycodes at a time, taken from the longest runs of spare keys first.

The remote side may need a moment for a keysym its own map lacks (TigerVNC's server adds
it to a spare key of its own): a short pause follows each character beyond ASCII, whether or
not the robot's own map has it (a robot killed while typing leaves its re-mapped keys behind,
and the next robot finds those characters on its map while the remote side still lacks them).
A read-back (OCR) must still confirm every field: typing is never trusted on its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from borough.errors import ConnectorError

_MEDIA_KEYSYMS = range(0x1008FF00, 0x10090000)  # XF86 multimedia keys


def remote_may_lack(char: str) -> bool:
    """Whether a remote side's keyboard map may lack ``char`` (anything beyond ASCII's
    printable characters, Return and Tab), so it needs a moment to add it."""
    return not (0x20 <= ord(char) <= 0x7E or char in "\n\t")


def keysym_of(char: str) -> int:
    """The X keysym that types ``char`` (Latin-1 keysyms are the code point, others
    0x01000000 + code point)."""
    code = ord(char)
    if char == "\n":
        return 0xFF0D
    if char == "\t":
        return 0xFF09
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    return 0x01000000 + code


class KeyTyper:
    """Types text on one X display through XTest (the display's own connection)."""

    def __init__(self, display: Any, pause_new: float = 0.03, settle: float = 0.1) -> None:
        from Xlib import XK, X

        self._display = display
        self._X = X
        self._pause_new = pause_new
        self._settle = settle
        first = display.display.info.min_keycode
        count = display.display.info.max_keycode - first + 1
        mapping = display.get_keyboard_mapping(first, count)
        self._original: dict[int, list[int]] = {}
        self._base: dict[int, tuple[int, int]] = {}
        for offset, syms in enumerate(mapping):
            keycode = first + offset
            values = list(syms)
            if not any(values) or all(v == 0 or v in _MEDIA_KEYSYMS for v in values):
                self._original[keycode] = values
                continue
            for level in (0, 1):
                if level < len(values) and values[level] and values[level] not in self._base:
                    self._base[values[level]] = (keycode, level)
        self._slots = [keycode for run in _longest_first(self._original) for keycode in run]
        shift = display.keysym_to_keycode(XK.XK_Shift_L)
        if not shift:
            raise ConnectorError("the display's keyboard map has no Shift key")
        self._shift = shift
        self._assigned: dict[str, int] = {}
        self._used: list[str] = []  # least recently used first

    def type(self, text: str) -> None:
        """Press the keys for ``text`` in order; returns once the server has them all."""
        from Xlib.ext import xtest

        self._assign([c for c in dict.fromkeys(text) if keysym_of(c) not in self._base])
        press, release = self._X.KeyPress, self._X.KeyRelease
        for char in text:
            base = self._base.get(keysym_of(char))
            keycode, level = base if base else (self._assigned[char], 0)
            if level:
                xtest.fake_input(self._display, press, self._shift)
            xtest.fake_input(self._display, press, keycode)
            xtest.fake_input(self._display, release, keycode)
            if level:
                xtest.fake_input(self._display, release, self._shift)
            if remote_may_lack(char):  # the remote side may have to add it to its map first
                self._display.sync()
                time.sleep(self._pause_new)
        self._display.sync()

    def _assign(self, chars: list[str]) -> None:
        new = [c for c in chars if c not in self._assigned]
        for char in chars:
            if char in self._used:
                self._used.remove(char)
            self._used.append(char)
        if not new:
            return
        if len(chars) > len(self._slots):
            raise ConnectorError(
                f"the text needs {len(chars)} characters that the keyboard map lacks; only "
                f"{len(self._slots)} keys can be re-mapped on this display"
            )
        rows: dict[int, list[int]] = {}
        for char in new:
            if len(self._assigned) < len(self._slots):
                keycode = self._slots[len(self._assigned)]
            else:
                victim = next(c for c in self._used if c not in chars and c in self._assigned)
                self._used.remove(victim)
                keycode = self._assigned.pop(victim)
            rows[keycode] = [keysym_of(char)] * 4
            self._assigned[char] = keycode
        self._remap(rows)
        time.sleep(self._settle)  # the viewer re-reads the keyboard map before the presses

    def restore(self) -> None:
        """Put back every key this typer re-mapped."""
        self._remap({keycode: self._original[keycode] for keycode in self._assigned.values()})
        self._assigned.clear()
        self._used.clear()

    def _remap(self, rows: dict[int, list[int]]) -> None:
        """Give each keycode its keysyms: one request (one re-read by every client) per run
        of adjacent keycodes."""
        for run in _runs(rows):
            width = max(len(rows[keycode]) for keycode in run)
            padded = [tuple(rows[k]) + (0,) * (width - len(rows[k])) for k in run]
            self._display.change_keyboard_mapping(run[0], padded)
        self._display.sync()


def _runs(keycodes: Iterable[int]) -> list[list[int]]:
    """Keycodes in order, cut into runs of adjacent ones."""
    runs: list[list[int]] = []
    for keycode in sorted(keycodes):
        if runs and runs[-1][-1] == keycode - 1:
            runs[-1].append(keycode)
        else:
            runs.append([keycode])
    return runs


def _longest_first(keycodes: Iterable[int]) -> list[list[int]]:
    """Runs of adjacent keycodes, the longest first (lowest keycode first among equals)."""
    return sorted(_runs(keycodes), key=lambda run: (-len(run), run[0]))
