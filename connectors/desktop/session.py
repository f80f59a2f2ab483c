"""The primitives every desktop step is made of, over one display: wait for a window, press
keys, paste and copy text, find and click reference images."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from borough.errors import TransientError
from connectors.desktop.clipboard import Clipboard
from connectors.desktop.keyboard import Keyboard
from connectors.desktop.screen import Anchor, Screen
from connectors.desktop.settings import DesktopSettings
from connectors.desktop.xwindows import Window, XWindows

#: How a field is reached: key chords (keyboard first: "alt+r", or several in order,
#: "alt+c tab tab" or ("alt+c", "tab", "tab")) or an image anchor to click.
Focus = str | tuple[str, ...] | Anchor


def keys_of(target: str | tuple[str, ...]) -> tuple[str, ...]:
    """The chords of a keyboard focus, in order ("alt+c tab" -> ("alt+c", "tab"))."""
    return tuple(target.split()) if isinstance(target, str) else target


EMPTY_FIELD_WAIT = 0.3
NUDGE_AFTER = 0.3
FIRST_PASTE_WAIT = 0.5
FIRST_COPY_WAIT = 0.5
FIRST_SETTLE = 2.0  #: seconds an app not yet known to answer pings is given to answer


@dataclass
class Session:
    app: str
    settings: DesktopSettings
    windows: XWindows
    keys: Keyboard
    clipboard: Clipboard | None
    screen: Screen
    _anchors: dict[tuple[Anchor, str, int, int], tuple[int, int]] = field(default_factory=dict)
    _answers_pings: bool | None = None  #: does the app answer pings (None: not known yet)

    # -- windows ---------------------------------------------------------------------------
    def active_title(self) -> str | None:
        return self.windows.active_title()

    def wait_for(
        self, accept: Callable[[str | None], bool], what: str, timeout: float | None = None
    ) -> str | None:
        """Wait until the active window's title passes ``accept``; TransientError if not."""
        try:
            return self.windows.wait_active(
                accept, self.settings.window_timeout_seconds if timeout is None else timeout, what
            )
        except TimeoutError as exc:
            raise TransientError(str(exc), app=self.app, step="wait") from None

    def wait_window(self, title: str, timeout: float | None = None) -> None:
        """Wait until ``title`` is the active window.

        A window manager may keep the focus on the old window (focus-stealing prevention):
        when the window shows but stays inactive for a moment, it is asked to activate it.
        """
        nudge_at = time.monotonic() + NUDGE_AFTER

        def arrived(active: str | None) -> bool:
            nonlocal nudge_at
            if active == title:
                return True
            if time.monotonic() >= nudge_at:
                nudge_at = time.monotonic() + NUDGE_AFTER
                for window in self.windows.find(title):
                    self.windows.activate(window.id)
                    break
            return False

        self.wait_for(arrived, f"window {title!r}", timeout)
        self._settle()

    def _settle(self) -> None:
        """Wait until the app has set the active window up. A window shows before its app
        has finished with it (Tk maps a new form's fields, and gives the first one the
        focus, once idle): keys sent sooner act on the bare window and the focus then
        moves under them, so a value lands in the wrong field and a read-back by the same
        keys confirms it. An app that does not answer pings is not waited for again."""
        active = self.windows.active_id()
        if active is None or self._answers_pings is False:
            return
        limit = self.settings.window_timeout_seconds
        settled = self.windows.settle(active, limit if self._answers_pings else FIRST_SETTLE)
        if self._answers_pings is None and settled is not None:
            self._answers_pings = settled

    def visible(self, title: str) -> list[Window]:
        return self.windows.find(title)

    # -- keyboard and clipboard ------------------------------------------------------------
    def press(self, *chords: str) -> None:
        self.keys.press(*chords)

    def paste(self, text: str, timeout: float | None = None) -> None:
        """Paste ``text`` at the focus; returns once the app has fetched it."""
        assert self.clipboard is not None
        try:
            self.clipboard.paste(text, lambda: self.keys.press(self.settings.paste_keys), timeout)
        except TransientError as exc:
            exc.app = self.app
            raise

    def copy(self, *chords: str, timeout: float | None = None) -> str | None:
        """Press ``chords`` (ending with a copy) and return the text the app copied, or None."""
        assert self.clipboard is not None
        return self.clipboard.copy(lambda: self.keys.press(*chords), timeout)

    def focus(self, target: Focus | None) -> None:
        """Put the keyboard focus on a field: by its chord, or by clicking its anchor.

        ``None`` leaves the focus where the app put it.
        """
        if target is None:
            return
        if isinstance(target, str | tuple):
            self.press(*keys_of(target))
            return
        self.click_at(*self.anchor_point(target))

    def click_at(self, x: int, y: int) -> None:
        """Click at a screen point; returns once the button is up again."""
        self.keys.click(x, y)
        try:
            self.windows.wait_buttons_released()
        except TimeoutError as exc:
            raise TransientError(str(exc), app=self.app, step="click") from None

    def anchor_point(self, anchor: Anchor) -> tuple[int, int]:
        """Where ``anchor`` points on screen, searched in the active window.

        The place found is remembered relative to that window (by title and size), so the
        next form of the same kind needs no search even if the window manager moved it.
        """
        active = self.windows.active_id()
        window = self.windows.geometry(active, self.windows.title(active) or "") if active else None
        key = (anchor, window.title, window.width, window.height) if window else None
        if key is not None and window is not None and key in self._anchors:
            dx, dy = self._anchors[key]
            return window.x + dx, window.y + dy
        region = window.region if window else None
        box = self.screen.locate(anchor.image, region, timeout=self.settings.window_timeout_seconds)
        if box is None:
            raise TransientError(
                f"reference image {anchor.image!r} is not on screen (has the app's layout "
                "changed? remake the image as docs/writing-a-desktop-bot.md says)",
                app=self.app,
                step="locate",
            )
        x, y = self.screen.point(anchor, box)
        if key is not None and window is not None:
            self._anchors[key] = (x - window.x, y - window.y)
        return x, y

    def fill_secret(self, value: str) -> None:
        """Paste into a masked field at the focus (it cannot be read back: Tk refuses to
        copy from one); the paste is still confirmed as fetched, with one retry."""
        for attempt in (1, 2):
            self.press(self.settings.select_all, self.settings.clear_keys)
            try:
                self.paste(value, FIRST_PASTE_WAIT if attempt == 1 else None)
                return
            except TransientError:
                if attempt == 2:
                    raise

    def read_field(
        self, target: Focus | None, expected: str | None = None, label: str | None = None
    ) -> str:
        """The field's whole text, by select-all and copy ("" if nothing could be selected).

        An empty field copies nothing, which can only be told by waiting: when ``expected``
        is empty the wait is short. Otherwise a copy that does not show within a short wait
        is done once more (the app may have dropped a key), then waited for in full.
        """
        self.focus(target)
        if expected == "":
            return self._copy_field(EMPTY_FIELD_WAIT) or ""
        text = self._copy_field(FIRST_COPY_WAIT)
        if text is None:
            self.focus(target)
            text = self._copy_field(self.settings.clipboard_timeout_seconds)
        return "" if text is None else text

    def _copy_field(self, wait: float) -> str | None:
        if self.settings.read_back == "primary":  # selecting is copying: PRIMARY holds it
            assert self.clipboard is not None
            chord = self.settings.select_all
            return self.clipboard.copy(lambda: self.keys.press(chord), wait, primary=True)
        return self.copy(self.settings.select_all, self.settings.copy_keys, timeout=wait)

    def wait_field(
        self,
        target: Focus | None,
        accept: Callable[[str], bool],
        what: str,
        *,
        label: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Read the field until its text passes ``accept`` (a reference the app fills in
        after a save, a field it clears); its text then. TransientError naming ``what``
        (never the text) if it does not within ``timeout`` (default window_timeout)."""
        limit = self.settings.window_timeout_seconds if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            text = self.read_field(target, None, label)
            if accept(text):
                return text
            if time.monotonic() >= deadline:
                raise TransientError(
                    f"field {label or 'at the focus'!s} did not show {what} within {limit:g}s",
                    app=self.app,
                    step="wait",
                )
            time.sleep(0.1)

    def fill_field(self, target: Focus | None, value: str, label: str | None = None) -> str:
        """Replace the field's text with ``value``; returns what the field then holds.

        Keys sent the moment a window opens can be dropped by the app (Tk does, before it
        has settled its focus): a paste not fetched within a short wait is done again, from
        the focus on. The read-back catches a paste that arrived twice.
        """
        for attempt in (1, 2):
            self.focus(target)
            self.press(self.settings.select_all, self.settings.clear_keys)
            if not value:
                break
            try:
                self.paste(value, FIRST_PASTE_WAIT if attempt == 1 else None)
                break
            except TransientError:
                if attempt == 2:
                    raise
        if value == "":
            return self._copy_field(EMPTY_FIELD_WAIT) or ""
        text = self._copy_field(FIRST_COPY_WAIT)
        return self.read_field(target, value) if text is None else text
