"""The client between two windows, held there by a window manager slowed down (SIGSTOP) as a
loaded machine slows it: the connector waits for the window the app is bringing up, and
neither answers the wrong window nor restarts an app that is only changing windows."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from connectors.desktop import DesktopConnector
from connectors.desktop.xwindows import XWindows
from tests.integration.desktop.test_desktop_connector import MAIN, SIGN_IN, services, settings
from tests.support.casework import APP, ROOT

pytestmark = pytest.mark.xvfb
HELD = 2.0  #: how long the window manager stays frozen (well inside every window timeout)


@pytest.fixture
def windows(desktop_display: str) -> Iterator[XWindows]:
    xw = XWindows(desktop_display)
    yield xw
    xw.close()


def window_manager_pid() -> int:
    """The openbox the session's display fixture started (a child of this process)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :]
        if comm == "openbox" and int(rest.split()[1]) == os.getpid():
            return int(stat.parent.name)
    raise AssertionError("no openbox started by this test process")


def sign_ins(db: Path) -> int:
    with closing(sqlite3.connect(db)) as conn:
        (count,) = conn.execute("SELECT count(*) FROM events WHERE kind = 'signed_in'").fetchone()
    return int(count)


def wait_until(check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {timeout:g}s"
        time.sleep(0.02)


def test_a_withdrawn_main_window_named_active_is_not_taken_for_the_signed_in_app(
    tmp_path: Path, windows: XWindows
):
    """Under load openbox was seen naming the client's withdrawn main window (never mapped
    before the sign-in) as the active window while only the sign-in dialog showed: the
    connector took that for "signed in", answered nothing, and the bot's next keys went
    to the sign-in dialog. A window that is not showing is never the active one."""
    db = tmp_path / "app.sqlite"
    app = subprocess.Popen(
        [sys.executable, "-m", "sandbox.desktop", "--db", str(db)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    wm = window_manager_pid()
    atom, kind = (windows.display.intern_atom(n) for n in ("_NET_ACTIVE_WINDOW", "WINDOW"))

    def catch_up() -> None:  # the WM names the window it has really focused, and goes on
        windows.root.change_property(atom, kind, 32, [dialog.id])
        windows.display.sync()
        os.kill(wm, signal.SIGCONT)

    resume = threading.Timer(HELD, catch_up)
    try:
        wait_until(lambda: windows.active_title() == SIGN_IN, "sign-in dialog")
        (dialog,) = windows.find(SIGN_IN)
        withdrawn = [
            child.id
            for child in windows.root.query_tree().children
            if windows.title(child.id) == MAIN and not windows._viewable(child.id)
        ]
        assert withdrawn, "the client keeps its main window withdrawn until signed in"
        os.kill(wm, signal.SIGSTOP)  # the WM is slow: what it says stays said for a while
        windows.root.change_property(atom, kind, 32, withdrawn)
        windows.display.sync()
        resume.start()
        connector = DesktopConnector(
            APP, settings(tmp_path / "x", command=None), services(tmp_path)
        )
        try:
            assert windows.find(SIGN_IN) == [], "the sign-in dialog was answered"
            assert connector.active_title() == MAIN and windows.find(MAIN)
            assert sign_ins(db) == 1
        finally:
            connector.close()
    finally:
        resume.cancel()
        os.kill(wm, signal.SIGCONT)
        app.terminate()
        app.wait(10)


def test_an_app_between_windows_is_waited_for_not_restarted(tmp_path: Path, windows: XWindows):
    """The client's windows can all be down for a moment (one closing, the next not yet
    mapped by a slow window manager). The app the connector started is still running:
    it is waited for, never stopped and started again (a second sign-in, work lost)."""
    db = tmp_path / "app.sqlite"
    connector = DesktopConnector(APP, settings(db), services(tmp_path))
    try:
        process = connector._process
        assert process is not None and sign_ins(db) == 1
        (main,) = windows.find(MAIN)
        window = windows.display.create_resource_object("window", main.id)
        window.unmap()  # no window of the app shows ...
        windows.display.sync()
        wait_until(lambda: windows.find(MAIN) == [], "main window gone")
        back = threading.Timer(HELD, lambda: (window.map(), windows.display.sync()))
        back.start()  # ... until the window manager maps it again
        try:
            connector.home()
        finally:
            back.join()
        assert connector._process is process and process.running, (
            "the app was stopped and started again"
        )
        assert connector.active_title() == MAIN and sign_ins(db) == 1
    finally:
        connector.close()
