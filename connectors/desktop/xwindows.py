"""What the X server knows about windows: titles, the active one, geometry, the clipboard owner.

Titles come from the app itself (``_NET_WM_NAME`` / ``WM_NAME``) and geometry from the
client window, never from the window manager's frame, which sits elsewhere.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from borough.errors import ConnectorError

SETTLED_ROUNDS = 2  #: ping rounds in a row with the window's widgets unchanged: set up
SETTLE_PAUSE = 0.01  #: seconds between them, for the app's idle work (Tk maps widgets then)
SETTLE_MAX_ROUNDS = 20  #: rounds before a window whose widgets keep changing is taken as set up


@dataclass(frozen=True)
class Window:
    """A top-level window of some app on the display."""

    id: int
    title: str
    x: int
    y: int
    width: int
    height: int

    @property
    def region(self) -> tuple[int, int, int, int]:
        """(left, top, width, height) on the screen, as pyautogui regions are written."""
        return (self.x, self.y, self.width, self.height)


class XWindows:
    """One Xlib connection used from one thread (the bot's)."""

    def __init__(self, display_name: str) -> None:
        from Xlib import X, display, error

        self._X = X
        self._errors: tuple[type[BaseException], ...] = (error.XError, error.BadWindow)
        failure = None
        with warnings.catch_warnings():  # Xlib drops the socket of a failed connect
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                self.display: Any = display.Display(display_name)
            except Exception as exc:  # DisplayConnectionError, DisplayNameError
                failure = str(exc)
        if failure is not None:
            raise ConnectorError(
                f"cannot connect to the X display {display_name} ({failure}); is the X server "
                "(or Xvfb) running?"
            )
        self.root = self.display.screen().root
        self._holder: Any = None
        self._atoms = {
            name: self.display.intern_atom(name)
            for name in (
                "_NET_ACTIVE_WINDOW",
                "_NET_WM_NAME",
                "UTF8_STRING",
                "_NET_SUPPORTING_WM_CHECK",
                "CLIPBOARD",
                "PRIMARY",
                "_NET_CLIENT_LIST",
                "WM_PROTOCOLS",
                "_NET_WM_PING",
            )
        }
        self._pings = 0

    def close(self) -> None:
        self.display.close()

    # -- titles and the active window ------------------------------------------------------
    def title(self, window_id: int) -> str | None:
        window = self.display.create_resource_object("window", window_id)
        try:
            prop = window.get_full_property(self._atoms["_NET_WM_NAME"], self._atoms["UTF8_STRING"])
            if prop is not None and prop.value:
                value = prop.value
                return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            name = window.get_wm_name()
        except self._errors:
            return None
        if isinstance(name, bytes):
            return name.decode("latin-1")
        return name or None

    def active_id(self) -> int | None:
        """The focused top-level window: the WM's view, else the X input focus walked up.

        Only a window that shows counts: a window manager behind on a loaded machine can
        still name a window that has gone, or one the app keeps withdrawn (a main window
        behind its sign-in dialog), and keys sent to either are lost.
        """
        prop = self.root.get_full_property(
            self._atoms["_NET_ACTIVE_WINDOW"], self._X.AnyPropertyType
        )
        if prop is not None and prop.value and prop.value[0]:
            named = int(prop.value[0])
            return named if self._viewable(named) else None
        focus = self.display.get_input_focus().focus
        window_id = getattr(focus, "id", 0)
        while window_id and window_id != self.root.id:
            if self.title(window_id):
                return int(window_id) if self._viewable(window_id) else None
            try:
                parent = (
                    self.display.create_resource_object("window", window_id).query_tree().parent
                )
            except self._errors:
                return None
            window_id = getattr(parent, "id", 0)
        return None

    def active_title(self) -> str | None:
        window_id = self.active_id()
        return self.title(window_id) if window_id else None

    def find(self, title: str) -> list[Window]:
        """Mapped top-level windows with exactly this title."""
        return self.visible().get(title, [])

    def titles(self) -> list[str]:
        """Titles of every mapped top-level window (for evidence and error messages)."""
        return list(self.visible())

    def visible(self) -> dict[str, list[Window]]:
        """Every mapped top-level window by title: the WM's client list when a WM runs
        (one request), else a walk down the window tree."""
        ids = self._client_list()
        if ids is None:
            ids = []
            self._walk(self.root, 0, ids)
        found: dict[str, list[Window]] = {}
        for window_id in ids:
            name = self.title(window_id)
            if not name or not self._viewable(window_id):
                continue
            window = self.geometry(window_id, name)
            if window is not None:
                found.setdefault(name, []).append(window)
        return found

    def _client_list(self) -> list[int] | None:
        if not self.window_manager_running():
            return None
        prop = self.root.get_full_property(self._atoms["_NET_CLIENT_LIST"], self._X.AnyPropertyType)
        return [int(i) for i in prop.value] if prop is not None else None

    def _viewable(self, window_id: int) -> bool:
        window = self.display.create_resource_object("window", window_id)
        try:
            return bool(window.get_attributes().map_state == self._X.IsViewable)
        except self._errors:
            return False

    def _walk(self, parent: Any, depth: int, ids: list[int]) -> None:
        try:
            children = parent.query_tree().children
        except self._errors:
            return
        for child in children:
            if self.title(child.id):
                ids.append(int(child.id))
            elif depth < 3:
                self._walk(child, depth + 1, ids)

    def geometry(self, window_id: int, title: str = "") -> Window | None:
        window = self.display.create_resource_object("window", window_id)
        try:
            geo = window.get_geometry()
            origin = window.translate_coords(self.root, 0, 0)
        except self._errors:
            return None
        return Window(window_id, title, -origin.x, -origin.y, geo.width, geo.height)

    def wait_active(
        self, accept: Callable[[str | None], bool], timeout: float, what: str
    ) -> str | None:
        """Poll until the active window's title satisfies ``accept``; ConnectorError if not."""
        deadline = time.monotonic() + timeout
        while True:
            title = self.active_title()
            if accept(title):
                return title
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:g}s for {what}; active window is {title!r}")
            time.sleep(0.005)

    def activate(self, window_id: int) -> None:
        """Ask the window manager to focus ``window_id`` (EWMH), or set the X focus directly."""
        from Xlib import protocol

        if self.window_manager_running():
            event = protocol.event.ClientMessage(
                window=self.display.create_resource_object("window", window_id),
                client_type=self._atoms["_NET_ACTIVE_WINDOW"],
                data=(32, [2, self._X.CurrentTime, 0, 0, 0]),
            )
            mask = self._X.SubstructureRedirectMask | self._X.SubstructureNotifyMask
            self.root.send_event(event, event_mask=mask)
        else:
            window = self.display.create_resource_object("window", window_id)
            window.set_input_focus(self._X.RevertToParent, self._X.CurrentTime)
        self.display.flush()

    def wait_buttons_released(self, timeout: float = 2.0) -> None:
        """Return once no mouse button is down for the server.

        A window manager that focuses on click grabs the press and holds the pointer until
        it has acted, while keys pass straight on: keys sent right after a click could reach
        the field that had the focus before it. The button shows as down until the held
        events are replayed, so waiting for it to come up orders the click before the keys.
        """
        buttons = self._X.Button1Mask | self._X.Button2Mask | self._X.Button3Mask
        deadline = time.monotonic() + timeout
        while self.root.query_pointer().mask & buttons:
            if time.monotonic() > deadline:
                raise TimeoutError(f"a mouse button stayed down for {timeout:g}s")
            time.sleep(0.002)

    def release_held_inputs(self) -> list[str]:
        """Release every key and mouse button the server holds down; returns what it was.

        A bot killed half-way through a chord leaves keys down: with Ctrl stuck every Escape
        arrives as Ctrl+Escape, and a stuck letter would auto-repeat into whatever field has
        the focus.
        """
        from Xlib.ext import xtest

        released: list[str] = []
        keymap = self.display.query_keymap()
        for index, byte in enumerate(keymap):
            for bit in range(8):
                if byte & (1 << bit):
                    keycode = index * 8 + bit
                    xtest.fake_input(self.display, self._X.KeyRelease, keycode)
                    keysym = self.display.keycode_to_keysym(keycode, 0)
                    released.append(self.display.lookup_string(keysym) or f"keycode {keycode}")
        mask = self.root.query_pointer().mask
        for number, bit in enumerate(
            (self._X.Button1Mask, self._X.Button2Mask, self._X.Button3Mask), start=1
        ):
            if mask & bit:
                xtest.fake_input(self.display, self._X.ButtonRelease, number)
                released.append(f"mouse button {number}")
        if released:
            self.display.sync()
        return released

    def ping(self, window_id: int) -> int | None:
        """Send ``_NET_WM_PING`` to the app owning ``window_id``; its number for :meth:`pong`
        (None if the window has gone). Pings reach the app after the keys sent before them
        (the server delivers in order, and pyautogui waits for its keys to be processed), so
        an answer proves the app has handled those keys. Window managers ask the same to
        tell a hung app; Tk, GTK and Qt answer. End with :meth:`stop_pings`."""
        from Xlib import protocol

        self._pings += 1
        window = self.display.create_resource_object("window", window_id)
        event = protocol.event.ClientMessage(
            window=window,
            client_type=self._atoms["WM_PROTOCOLS"],
            data=(32, [self._atoms["_NET_WM_PING"], self._pings, window_id, 0, 0]),
        )
        try:
            self.root.change_attributes(event_mask=self._X.SubstructureNotifyMask)  # answers
            window.send_event(event, event_mask=self._X.NoEventMask)
            self.display.flush()
        except self._errors:
            return None
        return self._pings

    def settle(self, window_id: int, limit: float) -> bool | None:
        """Wait until the app owning ``window_id`` has set its window up: it has handled
        everything sent to it (it answers a ping) and its window's viewable child windows
        stayed the same over two such rounds in a row (Tk maps a new window's widgets, and
        focuses the first field, only once it is idle); a window whose widgets never stop
        changing is given :data:`SETTLE_MAX_ROUNDS`. False if the app did not answer within
        ``limit`` seconds; None if the window went away."""
        deadline = time.monotonic() + limit
        shape = self._viewable_tree(window_id)
        steady = rounds = 0
        while steady < SETTLED_ROUNDS and rounds < SETTLE_MAX_ROUNDS:
            rounds += 1
            asked = self.ping(window_id)
            if asked is None:
                return None
            try:
                if not self.answered(asked, deadline - time.monotonic()):
                    return False
            finally:
                self.stop_pings()
            now = self._viewable_tree(window_id)
            steady = steady + 1 if now == shape else 0
            shape = now
            time.sleep(SETTLE_PAUSE)  # room for the app's idle work before the next round
        return True

    def _viewable_tree(self, window_id: int) -> frozenset[int]:
        """The viewable windows under ``window_id`` (a toolkit's widget windows)."""
        found: set[int] = set()
        pending = [self.display.create_resource_object("window", window_id)]
        try:
            while pending:
                for child in pending.pop().query_tree().children:
                    if child.get_attributes().map_state == self._X.IsViewable:
                        found.add(int(child.id))
                        pending.append(child)
        except self._errors:
            pass
        return frozenset(found)

    def answered(self, number: int, limit: float) -> bool:
        """Whether the app answers ping ``number`` within ``limit`` seconds."""
        deadline = time.monotonic() + limit
        while not self.pong(number):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def pong(self, number: int) -> bool:
        """Whether the app has answered ping ``number`` (other events read meanwhile are
        dropped: nothing else is asked of this connection)."""
        while self.display.pending_events():
            got = self.display.next_event()
            if (
                got.type == self._X.ClientMessage
                and got.client_type == self._atoms["WM_PROTOCOLS"]
                and list(got.data[1][:2]) == [self._atoms["_NET_WM_PING"], number]
            ):
                return True
        return False

    def stop_pings(self) -> None:
        self.root.change_attributes(event_mask=self._X.NoEventMask)
        self.display.sync()
        while self.display.pending_events():
            self.display.next_event()

    # -- display-wide facts ----------------------------------------------------------------
    def window_manager_running(self) -> bool:
        prop = self.root.get_full_property(
            self._atoms["_NET_SUPPORTING_WM_CHECK"], self._X.AnyPropertyType
        )
        return bool(prop is not None and prop.value and prop.value[0])

    def clipboard_owner(self, selection: str = "CLIPBOARD") -> int:
        """The window owning ``selection`` (CLIPBOARD, or PRIMARY: the selected text)."""
        owner = self.display.get_selection_owner(self._atoms[selection])
        return int(getattr(owner, "id", owner) or 0)

    def hold_clipboard(self, selection: str = "CLIPBOARD") -> int:
        """Make a window of this connection own ``selection`` (holding nothing), so that the
        next copy (or selection) by the app shows as a change of owner. Returns its id."""
        if self._holder is None:
            self._holder = self.root.create_window(0, 0, 1, 1, 0, self._X.CopyFromParent)
        self._holder.set_selection_owner(self._atoms[selection], self._X.CurrentTime)
        self.display.sync()  # before any key is sent on pyautogui's own connection
        while self.display.pending_events():  # SelectionClear from earlier holds
            self.display.next_event()
        return int(self._holder.id)
