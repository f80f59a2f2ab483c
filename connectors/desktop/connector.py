"""``kind: desktop``: drive a legacy desktop app on an X display, keyboard first.

Opening the connector attaches to DISPLAY (or starts Xvfb), makes sure a window manager
runs, takes the display's lock, starts the app if none of its windows is showing, signs in
and brings the app to its main window. Bots then enter fields, read them back, save and act
on the app's pop-ups; see docs/writing-a-desktop-bot.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from subprocess import Popen
from typing import TYPE_CHECKING, Any, ClassVar

from loguru import logger
from pydantic import BaseModel

from borough.connect import AppServices, Connector
from borough.errors import ConnectorError, TransientError
from borough.ledger.runs import process_alive
from connectors.desktop import display, drift, forms, signin
from connectors.desktop.app import AppProcess, app_environment, expand_command
from connectors.desktop.clipboard import Clipboard
from connectors.desktop.keyboard import Keyboard, load_pyautogui, release_pyautogui
from connectors.desktop.ocr import Ocr
from connectors.desktop.pixels import PixelScreens, PixelSession, PixelWindows
from connectors.desktop.screen import Anchor, Box, Mask, Screen, mask_image, png_bytes
from connectors.desktop.session import Focus, Session
from connectors.desktop.settings import DesktopSettings
from connectors.desktop.typing import KeyTyper
from connectors.desktop.xwindows import XWindows

if TYPE_CHECKING:
    from borough.drift.report import Finding

SETTLE_SECONDS = 0.05
SETTLE_TIMEOUT = 2.0


def _another_window(was: str | None, title: str | None) -> bool:
    return title is not None and title != was


class DesktopConnector(Connector):
    """One desktop app on one display (see the module docstring)."""

    kind: ClassVar[str] = "desktop"
    Settings: ClassVar[type[BaseModel]] = DesktopSettings

    def __init__(self, name: str, settings: DesktopSettings, services: AppServices) -> None:
        super().__init__(name, settings, services)
        self.settings: DesktopSettings = settings
        self._virtual = False
        self._wm: Popen[bytes] | None = None
        self._lock: display.DisplayLock | None = None
        self._windows: XWindows | None = None
        self._process: AppProcess | None = None
        self._owned: list[int] = []
        self._masks: list[Mask] = []
        # the run folder is named after the run: its log is where an operator looks
        self._log = logger.bind(run_id=services.run_folder.name)
        self._pyautogui_display: str | None = None
        self._ocr: Ocr | None = None
        try:
            self.session = self._connect()
            self._ensure_running()
            self.home()
        except BaseException:
            self.close()
            raise

    # -- opening and closing ---------------------------------------------------------------
    def _connect(self) -> Session:
        settings = self.settings
        display_name = os.environ.get("DISPLAY", "")
        if not display_name:
            if not settings.virtual_display:
                raise ConnectorError(
                    f"app {self.name!r}: no DISPLAY is set and virtual_display is off; export "
                    "DISPLAY or set virtual_display: true in config/apps.yaml"
                )
            display_name = display.start_virtual(settings.size)
            self._virtual = True
            self._own(display.virtual_pid(), "virtual display (Xvfb)")
        pixels = settings.pixels if settings.mode == "pixels" else None
        self._windows = PixelWindows(display_name) if pixels else XWindows(display_name)
        self._lock = display.DisplayLock(display_name)
        self._lock.acquire(settings.display_lock_timeout_seconds)
        if settings.window_manager and not self._windows.window_manager_running():
            self._wm = display.start_window_manager(settings.window_manager, self._windows)
            self._own(self._wm.pid, f"window manager {settings.window_manager}")
        gui = load_pyautogui(display_name)
        self._pyautogui_display = display_name
        keys = Keyboard(gui, settings.key_pause_seconds)
        for chord in (
            settings.select_all,
            settings.copy_keys,
            settings.paste_keys,
            settings.clear_keys,
            settings.dialog_copy,
            settings.dialog_dismiss,
            settings.login_next,
            settings.login_submit,
            *(c for chords in settings.home_keys.values() for c in chords),
        ):
            keys.keys(chord)  # a typo in apps.yaml fails now, not mid-item
        images = None
        if settings.images:
            images = Path(settings.images).expanduser()
            images = images if images.is_absolute() else self.services.home / images
        screen = Screen(display_name, images, settings.confidence)
        self._log.bind(action="desktop.attach").info(
            "app {} on display {} ({}{})",
            self.name,
            display_name,
            "started here: Xvfb" if self._virtual else "given by DISPLAY",
            "; image mode" if pixels else "",
        )
        if pixels is not None:
            assert isinstance(self._windows, PixelWindows)
            self._ocr = Ocr()
            screens = PixelScreens(pixels, self._windows, screen, self._ocr)
            self._windows.screens = screens
            typer = KeyTyper(self._windows.display, pixels.key_pause_seconds)
            return PixelSession(
                self.name,
                settings,
                self._windows,
                keys,
                None,
                screen,
                pixels=pixels,
                screens=screens,
                typer=typer,
            )
        clipboard = Clipboard(
            self._windows,
            display_name,
            settings.clipboard_timeout_seconds,
            patience=settings.window_timeout_seconds,
        )
        return Session(self.name, settings, self._windows, keys, clipboard, screen)

    def close(self) -> None:
        """Stop the app if this connector started it, then the display parts it started."""
        session = getattr(self, "session", None)
        gui_display, self._pyautogui_display = self._pyautogui_display, None
        wm = self._wm
        stops = self._virtual and display.last_virtual_user()
        typer = getattr(session, "typer", None)
        steps: list[Any] = [
            self._process.stop if self._process else None,
            session.clipboard.close if session and session.clipboard else None,
            typer.restore if typer is not None and self._windows else None,
            self._ocr.close if self._ocr else None,
            self._windows.close if self._windows else None,
            (lambda: release_pyautogui(gui_display, display_stops=stops)) if gui_display else None,
            (lambda: display.stop_process(wm)) if wm else None,
            self._lock.release if self._lock else None,
            display.release_virtual if self._virtual else None,
        ]
        owned, self._owned = self._owned, []
        self._process = self._windows = self._wm = self._lock = None
        self._ocr = None
        self._virtual = False
        for step in steps:
            if step is not None:
                try:
                    step()
                except Exception as exc:
                    self._log.bind(action="desktop.close").warning("closing {}: {}", self.name, exc)
        for pid in owned:  # stopped above (or left to the next run if it is still alive)
            if not process_alive(pid, None):
                self.services.disown_process(pid)

    def _own(self, pid: int | None, what: str) -> None:
        """A process this connector started: stopped by the next run if this one dies."""
        if pid is not None:
            self._owned.append(pid)
            self.services.own_process(pid, what)

    # -- the app's process and its windows -------------------------------------------------
    def _app_titles(self) -> list[str]:
        s = self.settings
        return [t for t in (s.main_window, s.login_window) if t]

    def _showing(self) -> bool:
        return self._present(self.session.windows.visible())

    def _present(self, shown: dict[str, Any]) -> bool:
        """Whether the app is up: one of its windows, or in image mode its viewer window."""
        pixels = self.settings.pixels if self.settings.mode == "pixels" else None
        if pixels is not None:
            return pixels.viewer_window in shown
        return any(t in shown for t in self._app_titles())

    def _ensure_running(self) -> None:
        """Attach to the app's windows, or start it from ``command`` and wait for them."""
        if self._showing() or self._window_returns():
            return
        if self._process is not None:
            report = self._process.exit_report() if not self._process.running else "no window"
            self._log.bind(action="desktop.app_lost").warning(
                "app {} has gone ({})", self.name, report
            )
            self._process.stop()
            self._process = None
        if not self.settings.command:
            raise ConnectorError(
                f"app {self.name!r} is not running (no window titled "
                f"{' or '.join(map(repr, self._app_titles()))}) and apps.yaml gives no "
                "command: to start it"
            )
        command = expand_command(self.settings.command, self.services.home)
        self._process = AppProcess(
            self.name,
            command,
            self.services.home,
            self.services.run_folder / f"{self.name}.log",
            env=app_environment(self.settings.env, self.services.home),
        )
        self._own(self._process.process.pid, f"app {self.name}")
        self._log.bind(action="desktop.start").info("started app {}", self.name)
        if not self._await_window():
            raise ConnectorError(
                f"app {self.name!r} showed no window titled "
                f"{' or '.join(map(repr, self._app_titles()))} within "
                f"{self.settings.start_timeout_seconds:g}s"
            )
        if not self._process_running():
            assert self._process is not None
            raise ConnectorError(
                f"app {self.name!r} stopped while starting: {self._process.exit_report()}"
            )

    def _window_returns(self) -> bool:
        """The app this connector started runs but shows no window: it is between two (one
        closed, the next not yet mapped by a window manager a loaded machine holds up). Wait
        for one as for a start, instead of stopping an app that is only slow; False if it
        stopped, or showed none within start_timeout (then it is lost)."""
        return self._process_running() and self._await_window() and self._process_running()

    def _await_window(self) -> bool:
        """Wait until the app shows a window or its process stops; False if neither
        happened within start_timeout."""
        try:
            self.session.wait_for(
                lambda _t: self._started() or not self._process_running(),
                f"a window of app {self.name!r}",
                self.settings.start_timeout_seconds,
            )
        except TransientError:
            return False
        return True

    def _started(self) -> bool:
        """The app shows a window (in image mode: the viewer shows one of its screens)."""
        if self.settings.mode == "pixels":
            return self._showing() and bool(self.session.windows.titles())
        return self._showing()

    def _process_running(self) -> bool:
        return self._process is not None and self._process.running

    def sign_in(self) -> None:
        """Fill the sign-in dialog (see connectors.desktop.signin); SignInError if refused."""
        signin.sign_in(self)

    def home(self) -> None:
        """Back to the main window: pop-ups and forms are left (home_keys, else Escape) and
        a sign-in dialog is answered. TransientError if the app will not get there."""
        s, session = self.settings, self.session
        released = session.windows.release_held_inputs()
        if released:
            self._log.bind(action="desktop.released").warning(
                "released {} held down on the display of {}", ", ".join(released), self.name
            )
        side_titles = [*s.dialogs, *s.home_keys]
        title: str | None = None
        for _ in range(12):
            shown = session.windows.visible()
            if not self._present(shown):
                self._ensure_running()
                continue
            if self.settings.mode == "pixels" and self._focus_viewer(shown):
                continue
            title = session.active_title()
            if title == s.login_window:
                self.sign_in()
                continue
            blocking = [w for t in side_titles if t != title for w in shown.get(t, [])]
            if title == s.main_window and not blocking:
                return
            if not self._settled(title):
                continue
            if title is None and self.settings.mode == "pixels":
                session.press("escape")  # something the app config does not know: close it
                continue
            if title is None or title not in (s.main_window, *side_titles):
                # the focus is elsewhere (another program, nothing): bring the app forward
                candidates = blocking or [w for t in self._app_titles() for w in shown.get(t, [])]
                session.windows.activate(candidates[0].id)
                session.wait_window(candidates[0].title)
                continue
            if title == s.main_window:  # a pop-up or form is open behind: go to it first
                session.windows.activate(blocking[0].id)
                continue
            session.press(*s.home_keys.get(title, ["escape"]))
            try:
                session.wait_for(
                    partial(_another_window, title), f"{title!r} to close", SETTLE_TIMEOUT
                )
            except TransientError:
                continue
        raise TransientError(
            f"could not get back to the main window (stuck at {title!r})",
            app=self.name,
            step="home",
        )

    def _focus_viewer(self, shown: dict[str, Any]) -> bool:
        """Give the viewer the keyboard focus if it lacks it; True if it had to."""
        assert self.settings.pixels is not None
        viewers = shown.get(self.settings.pixels.viewer_window, [])
        windows = self.session.windows
        if not viewers or windows.active_id() == viewers[0].id:
            return False
        windows.activate(viewers[0].id)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while windows.active_id() != viewers[0].id and time.monotonic() < deadline:
            time.sleep(SETTLE_SECONDS)
        return True

    def _settled(self, title: str | None) -> bool:
        """True if ``title`` is still active a moment later (windows close in steps)."""
        time.sleep(SETTLE_SECONDS)
        return self.session.active_title() == title

    # -- what bots use ---------------------------------------------------------------------
    def press(self, *chords: str) -> None:
        """Press key chords in order, e.g. ``press("ctrl+n")``."""
        self.session.press(*chords)

    def save(self, *chords: str) -> None:
        """Press the chords that save the open form, once the run has re-checked its lease
        (a run that lost it raises :class:`~borough.errors.RunFencedError`, saving nothing)."""
        self.services.check_lease()
        self.session.press(*chords)

    def paste(self, text: str) -> None:
        """Paste ``text`` where the focus is (any character; returns once the app has it)."""
        self.session.paste(text)

    def copy(self, *chords: str) -> str | None:
        """Press ``chords`` ending in a copy; the text copied, or None if nothing was."""
        return self.session.copy(*chords)

    def wait_window(self, title: str, timeout: float | None = None) -> None:
        """Wait until the active window is titled ``title``."""
        self.session.wait_window(title, timeout)

    def active_title(self) -> str | None:
        return self.session.active_title()

    def click(self, target: Anchor) -> None:
        """Click a reference image (or a point offset from it)."""
        self.session.focus(target)

    def locate(self, image: str, timeout: float = 0.0) -> Box | None:
        return self.session.screen.locate(image, timeout=timeout)

    def read(self, target: Focus) -> str:
        """A field's text, read back by select-all and copy."""
        return self.session.read_field(target)

    def wait_field(
        self,
        target: Focus | None,
        accept: Callable[[str], bool],
        *,
        what: str,
        label: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Wait until the field's text passes ``accept`` (e.g. ``str.strip`` for "filled
        in", ``lambda t: t == ""`` for "cleared"); returns the text. ``what`` names the
        state in the error ("a case reference")."""
        return self.session.wait_field(target, accept, what, label=label, timeout=timeout)

    def enter(self, fields: Sequence[forms.Field]) -> None:
        """Fill fields in order, each confirmed by read-back (see connectors.desktop.forms)."""
        forms.enter_fields(self.session, fields)

    def verify(self, fields: Sequence[forms.Field]) -> None:
        """Read every field back; BusinessRuleError if any differs from its value."""
        forms.verify_fields(self.session, fields)

    def await_dialog(self, timeout: float | None = None) -> forms.Dialog:
        """The next configured pop-up: returned if ``ok``, else raised as its error kind."""
        return forms.await_dialog(self.session, timeout)

    def title_of(self, screen: str, element: str = "window") -> str:
        """The window title declared for ``screen`` in apps.yaml (``title:`` locator)."""
        return drift.title_of(self, screen, element)

    def check_screens(self, baseline: Mapping[tuple[str, str], dict[str, Any]]) -> list[Finding]:
        """The drift check: open each declared screen from the main window, look, close."""
        return drift.check(self, baseline)

    def declare_sensitive(self, *masks: Mask) -> None:
        """Areas to black out in failure screenshots (fields holding personal data)."""
        self._masks.extend(masks)

    def screenshot(self) -> tuple[bytes, list[str]]:
        """The screen as PNG with the declared masks applied, and notes on each mask."""
        screen = self.session.screen
        shot = screen.grab()
        regions = {
            m.window: [w.region for w in self.session.visible(m.window)] for m in self._masks
        }
        notes = mask_image(screen, shot, self._masks, regions)
        return png_bytes(shot), notes

    def failure_evidence(self) -> list[tuple[str, bytes | str, str]]:
        """A masked screenshot and the state of the app's windows when an item failed."""
        image, notes = self.screenshot()
        state = [
            f"app: {self.name}",
            f"active window: {self.session.active_title()!r}",
            f"windows: {', '.join(map(repr, self.session.windows.titles()))}",
            f"app process: {'running' if self._process_running() else 'not started here'}",
            *(f"mask {note}" for note in notes),
        ]
        return [
            ("screen.png", image, "screenshot"),
            ("desktop.txt", "\n".join(state) + "\n", "app-state"),
        ]
