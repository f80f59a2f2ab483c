"""Text in and out of the app through the X clipboard, so any character gets through.

``pyautogui.write`` drops £ and accents, and ``xdotool type`` changes case, so text is
pasted. Two facts make this deterministic instead of a matter of sleeps:

* Tk fetches pasted text in a nested event loop that also handles the keys sent after
  Ctrl+V, so they can act before the text arrives. Text is therefore offered with
  ``xclip -loops 1``: it exits once the app has fetched it, and only then is the next key sent.
* A copy is only trusted once the app has taken the clipboard from its previous owner;
  before that, the clipboard still holds whatever was there (a false read-back).
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
    def __init__(self, windows: XWindows, display_name: str, timeout: float) -> None:
        import pyperclip

        self._xclip = require_xclip()
        self._windows = windows
        self._env = {**os.environ, "DISPLAY": display_name}
        self._timeout = timeout
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
        deadline = time.monotonic() + (self._timeout if timeout is None else timeout)
        while self._windows.clipboard_owner(selection) in (before, 0):
            if time.monotonic() > deadline:
                self._reap()
                return None
            time.sleep(0.001)
        self._reap()
        return self._read_primary() if primary else self._read()

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
