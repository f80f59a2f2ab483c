"""The X display a desktop bot works on: attach to DISPLAY or start Xvfb, make sure a window
manager runs (keys reach the focused window only with one), and hold the display's lock.

A virtual display started here is shared by every connector of the process and stopped when
the last one lets go: pyautogui keeps one X connection per process, so starting a display per
connector would leave it talking to a dead server.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from borough.errors import ConnectorError

XVFB_HINT = "Xvfb is not installed (apt-get install xvfb)"


@dataclass
class _Virtual:
    display: Any  # pyvirtualdisplay.Display
    name: str
    users: int = 0


_shared: dict[str, _Virtual] = {}  # "xvfb" -> this process's virtual display, while in use


def start_virtual(size: tuple[int, int]) -> str:
    """Start (or share) this process's Xvfb and point DISPLAY at it; returns its name."""
    virtual = _shared.get("xvfb")
    if virtual is None:
        if shutil.which("Xvfb") is None:
            raise ConnectorError(f"no DISPLAY is set and {XVFB_HINT}")
        try:
            from pyvirtualdisplay.display import Display
        except ImportError:
            raise ConnectorError(
                "PyVirtualDisplay is missing: pip install 'borough[desktop]'"
            ) from None
        display = Display(visible=False, size=size, color_depth=24)
        display.start()
        virtual = _shared["xvfb"] = _Virtual(display, display.new_display_var)
    virtual.users += 1
    os.environ["DISPLAY"] = virtual.name
    return virtual.name


def virtual_pid() -> int | None:
    """The pid of this process's Xvfb, while it runs."""
    virtual = _shared.get("xvfb")
    pid = getattr(virtual.display, "pid", None) if virtual is not None else None
    return pid if isinstance(pid, int) else None


def last_virtual_user() -> bool:
    """True if releasing now would stop this process's Xvfb."""
    virtual = _shared.get("xvfb")
    return virtual is not None and virtual.users <= 1


def release_virtual() -> None:
    """One user is done with the shared Xvfb; the last one stops it."""
    virtual = _shared.get("xvfb")
    if virtual is None:
        return
    virtual.users -= 1
    if virtual.users <= 0:
        del _shared["xvfb"]
        from connectors.desktop.keyboard import close_pyautogui

        close_pyautogui(virtual.name)
        # pyvirtualdisplay stops Xvfb with SIGKILL, which leaves its socket in
        # /tmp/.X11-unix; a SIGTERM first lets Xvfb clean up after itself
        process = getattr(getattr(virtual.display, "_obj", None), "_subproc", None)
        if process is not None:
            with contextlib.suppress(Exception):
                stop_process(process)
            for stream in (process.stdout, process.stderr):  # stop() reads them only on kill
                if stream is not None:
                    stream.close()
        virtual.display.stop()


def start_window_manager(
    command: str, windows: Any, timeout: float = 10.0
) -> subprocess.Popen[bytes]:
    """Start ``command`` (e.g. openbox) and wait until it has taken the display."""
    path = shutil.which(command)
    if path is None:
        raise ConnectorError(
            f"window manager {command!r} is not installed (apt-get install {command}); without "
            "one, keys go to whatever window the pointer is over. Set window_manager: null in "
            "apps.yaml to run without."
        )
    process = subprocess.Popen(
        [path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    while not windows.window_manager_running():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise ConnectorError(f"window manager {command!r} did not start on this display")
        time.sleep(0.02)
    return process


def stop_process(process: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """Terminate, wait, then kill: never leave a child behind."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait(timeout)


class DisplayLock:
    """One desktop bot per display: an exclusive ``flock`` the kernel drops if the bot dies."""

    def __init__(self, display_name: str) -> None:
        safe = display_name.replace(":", "").replace("/", "_") or "0"
        self.path = Path(tempfile.gettempdir()) / f"borough-desktop-display-{safe}.lock"
        self.display_name = display_name
        self._handle: IO[str] | None = None

    def acquire(self, timeout: float) -> None:
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        try:
            self._wait(handle, timeout)
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        except BaseException:
            handle.close()
            raise
        self._handle = handle

    def _wait(self, handle: IO[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise ConnectorError(
                        f"display {self.display_name} is in use by another desktop bot "
                        f"(pid {holder}); one desktop bot per display: wait for it, or give "
                        "this bot its own display"
                    ) from None
                time.sleep(0.1)

    def release(self) -> None:
        if self._handle is not None:
            self._handle.truncate(0)
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


@contextmanager
def virtual_display(
    size: tuple[int, int] = (1280, 800), window_manager: str | None = "openbox"
) -> Iterator[str]:
    """A virtual display (Xvfb + window manager) for a block of code; DISPLAY points at it.

    Connectors opened inside attach to it, so several runs in one process share it (the
    demo, tests, benchmarks). Yields the display name.
    """
    from connectors.desktop.xwindows import XWindows

    previous = os.environ.get("DISPLAY")
    os.environ.pop("DISPLAY", None)
    name = start_virtual(size)
    wm = None
    windows = XWindows(name)
    try:
        if window_manager:
            wm = start_window_manager(window_manager, windows)
        yield name
    finally:
        windows.close()
        if wm is not None:
            stop_process(wm)
        release_virtual()
        if previous is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = previous
