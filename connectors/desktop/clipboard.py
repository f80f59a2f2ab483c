"""Text in and out of the app through the X clipboard, so any character gets through.

``pyautogui.write`` drops £ and accents, and ``xdotool type`` changes case, so text is
pasted. Two facts make this deterministic instead of a matter of sleeps:

* Tk fetches pasted text in a nested event loop that also handles the keys sent after
  Ctrl+V, so they can act before the text arrives. Text is therefore offered with
  ``xclip -loops 1``: it exits once the app has fetched it, and only then is the next key sent.
* A copy is only trusted once the app has taken the clipboard from its previous owner;
  before that, the clipboard still holds whatever was there (a false read-back).
* Whether the app copied anything is asked of the app, not of the clock, when it answers
  ``_NET_WM_PING``: once it has answered two pings sent after the copy keys, it has handled
  them, and the clipboard's owner says whether it copied. A loaded machine may hold an app
  up for seconds; an app known to answer is then waited for up to ``patience`` seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable

from borough.errors import ConnectorError, TransientError
from connectors.desktop.xwindows import XWindows

XCLIP_HINT = "xclip is not installed (apt-get install xclip); desktop bots enter text by pasting"


def require_xclip() -> str:
    path = shutil.which("xclip")
    if path is None:
        raise ConnectorError(XCLIP_HINT)
    return path


class Clipboard:
    def __init__(
        self, windows: XWindows, display_name: str, timeout: float, patience: float | None = None
    ) -> None:
        import pyperclip

        self._xclip = require_xclip()
        self._windows = windows
        self._env = {**os.environ, "DISPLAY": display_name}
        self._timeout = timeout
        self._patience = timeout if patience is None else max(patience, timeout)
        self._answers: bool | None = None  # does the app answer pings (None: not known yet)
        self._held: list[subprocess.Popen[bytes]] = []
        pyperclip.set_clipboard("xclip")
        self._read: Callable[[], str] = pyperclip.paste

    def paste(self, text: str, press: Callable[[], None], timeout: float | None = None) -> None:
        """Offer ``text``, run ``press`` (the paste keys), return once the app has fetched it."""
        offer = self._offer(text)
        press()
        try:
            offer.wait(self._timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            raise TransientError(
                "the application did not take the pasted text (is the focus in a text field?)",
                step="paste",
            ) from None
        finally:
            self._reap()

    def copy(
        self, press: Callable[[], None], timeout: float | None = None, *, primary: bool = False
    ) -> str | None:
        """Run ``press`` (the copy keys); the text the app copied, or None if it copied nothing.

        ``primary``: ``press`` only selects (an app that offers no copy, only the X PRIMARY
        selection, as selecting text does in most X toolkits); the selected text is read.
        """
        selection = "PRIMARY" if primary else "CLIPBOARD"
        before = self._windows.clipboard_owner(selection)
        if before:
            before = self._windows.hold_clipboard(selection)  # so that the app's copy shows
        press()
        copied = self._copied(selection, before, self._timeout if timeout is None else timeout)
        self._reap()
        if not copied:
            return None
        return self._read_primary() if primary else self._read()

    def _copied(self, selection: str, before: int, limit: float) -> bool:
        """Whether the app took ``selection`` after the copy keys (see the module docstring)."""
        windows = self._windows
        active = windows.active_id()
        asked = windows.ping(active) if active else None
        answers = 0
        start = time.monotonic()
        try:
            while windows.clipboard_owner(selection) in (before, 0):
                if asked is not None and windows.pong(asked):
                    self._answers = True
                    answers += 1
                    if answers == 2:  # a copy the app finishes on the next turn of its loop
                        return windows.clipboard_owner(selection) not in (before, 0)
                    asked = windows.ping(active) if active else None
                    continue
                waited = time.monotonic() - start
                if waited > limit and not (self._answers and asked and waited < self._patience):
                    return False
                time.sleep(0.001)
            if self._answers is None and asked is not None:  # learn it while the app is idle
                self._answers = windows.answered(asked, limit)
            return True
        finally:
            windows.stop_pings()

    def _read_primary(self) -> str:
        done = subprocess.run(
            [self._xclip, "-o", "-selection", "primary"],
            capture_output=True,
            env=self._env,
            timeout=self._timeout,
            check=False,
        )
        return done.stdout.decode("utf-8", errors="replace")

    def close(self) -> None:
        for process in self._held:
            if process.poll() is None:
                process.kill()
            process.wait(5)
        self._held.clear()

    def _offer(self, text: str) -> subprocess.Popen[bytes]:
        """Start an xclip that owns the clipboard with ``text`` until one app has fetched it
        (``-loops 1``); wait until it really owns it."""
        before = self._windows.clipboard_owner()
        args = [self._xclip, "-loops", "1", "-selection", "clipboard", "-quiet", "-i"]
        process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self._env,
        )
        self._held.append(process)
        assert process.stdin is not None
        process.stdin.write(text.encode("utf-8"))
        process.stdin.close()
        deadline = time.monotonic() + self._timeout
        while self._windows.clipboard_owner() in (before, 0):
            if process.poll() is not None or time.monotonic() > deadline:
                raise ConnectorError(
                    f"xclip could not take the clipboard (exit status {process.poll()})"
                )
            time.sleep(0.001)
        return process

    def _reap(self) -> None:
        """Forget xclip processes that have exited; the current owner stays held."""
        alive = []
        for process in self._held:
            if process.poll() is None:
                alive.append(process)
            else:
                process.wait()
        self._held = alive
