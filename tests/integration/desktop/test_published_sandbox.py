"""The pixels-only sandbox keeps its promises: the robot shares no clipboard with the
published client (either way), and nothing of it outlives its supervisor."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from connectors.desktop.xwindows import XWindows
from sandbox.desktop.published import VIEWER_TITLE
from tests.support.published import published_client, require_published

pytestmark = [pytest.mark.xvfb]


@pytest.fixture(autouse=True)
def _published_tools() -> None:
    require_published()


def own(display: str, selection: str, text: str) -> subprocess.Popen[bytes]:
    """Take ``selection`` on ``display`` with ``text`` (xclip serves it until stopped)."""
    owner = subprocess.Popen(
        ["xclip", "-selection", selection, "-quiet"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DISPLAY": display},
    )
    assert owner.stdin is not None
    owner.stdin.write(text.encode())
    owner.stdin.close()
    time.sleep(0.5)  # the viewer or server would pick a change up at once
    return owner


def selection_text(display: str, selection: str) -> str:
    out = subprocess.run(
        ["xclip", "-o", "-selection", selection],
        capture_output=True,
        env={**os.environ, "DISPLAY": display},
        timeout=5,
        check=False,
    )
    return out.stdout.decode()


def test_no_clipboard_or_selection_crosses_the_viewer(tmp_path: Path, desktop_display: str):
    owners = []
    try:
        with published_client(tmp_path, desktop_display) as published:
            inner = published.inner_display
            for selection in ("clipboard", "primary"):
                owners.append(own(desktop_display, selection, f"robot {selection}"))
                assert selection_text(inner, selection) == ""
                owners.append(own(inner, selection, f"app {selection}"))
                assert selection_text(desktop_display, selection) == f"robot {selection}"
    finally:
        for owner in owners:
            owner.terminate()
            owner.wait(5)


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def test_killing_the_supervisor_takes_every_part_with_it(tmp_path: Path, desktop_display: str):
    with published_client(tmp_path, desktop_display) as published:
        parts = children_of(published.process.pid)
        assert len(parts) == 4, "Xvnc, openbox, the client and the viewer"
        published.process.send_signal(signal.SIGKILL)
        published.process.wait(5)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() for pid in parts):
            assert time.monotonic() < deadline, "a part outlived its supervisor"
            time.sleep(0.05)
    windows = XWindows(desktop_display)
    try:
        assert not windows.find(VIEWER_TITLE)
    finally:
        windows.close()
    # its private folder (socket, logs) is left behind by the kill, and cleared next time
    leftover = Path(tempfile.gettempdir()) / f"borough-published-{published.process.pid}"
    assert leftover.is_dir()
    with published_client(tmp_path, desktop_display):
        assert not leftover.exists()
