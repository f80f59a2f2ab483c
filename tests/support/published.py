"""The revenues client as a published app (pixels only) for desktop bot tests."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.desktop.published import NEEDS, VIEWER_TITLE
from tests.conftest import require
from tests.support.casework import ROOT, app_db, desktop_home

PUBLISHED = "revenues-published"
SIGN_IN = "Revenues Client - Sign in"
#: Tesseract models the published app's read-backs use (connectors/desktop/ocr_kinds.py)
MODELS = ("eng", "Latin", "gle", "cym", "pol", "fra", "deu", "spa", "ces", "dan", "tur", "isl")


def published_command(*client_args: str) -> list[str]:
    """The shipped command that starts the published client, ``client_args`` passed on."""
    return [
        *("{python}", "-m", "sandbox.desktop.published"),
        *("--db", "var/targets/revenues-desktop.sqlite", "--", *client_args),
    ]


def published_home(
    root: Path, rows: list[dict[str, Any]], *client_args: str, attach: bool = False, **kwargs: Any
) -> Path:
    """An installation whose desktop bot keys ``rows`` into the published client: the
    shipped bot and app config, only the bot's ``target_app`` switched. The connector
    starts and stops the client itself, unless ``attach`` (a test started it)."""
    command = None if attach else published_command(*client_args)
    return desktop_home(root, rows, command=command, app_name=PUBLISHED, **kwargs)


def require_published() -> None:
    """Skip (fail under CI=true) without TigerVNC, tesserocr or Tesseract's models."""
    for tool, package in NEEDS.items():
        require(shutil.which(tool) is not None, tool, f"apt-get install {package}")
    try:
        from connectors.desktop.ocr import Ocr
    except ImportError:  # pragma: no cover - the pixels extra is part of dev
        require(False, "tesserocr", "pip install 'borough[pixels]'")
    missing = Ocr().missing(set(MODELS))
    require(not missing, f"Tesseract models {missing}", "see scripts/bootstrap (apt list)")


@dataclass
class Published:
    """A running published client: its supervisor process and the session's own display."""

    process: subprocess.Popen[bytes]
    inner_display: str


@contextmanager
def published_client(home: Path, display: str, *client_args: str) -> Iterator[Published]:
    """Start the published client on ``display`` (as a robot's remote session would be
    open before a run), wait for its viewer window, stop it (and all its parts) after."""
    app_db(home).parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.desktop.published", "--db", str(app_db(home))]
        + (["--", *client_args] if client_args else []),
        env={**os.environ, "PYTHONPATH": str(ROOT), "DISPLAY": display},
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline().decode() if ready else ""
        assert line.startswith("READY "), f"the published client did not start: {line!r}"
        inner = line.split()[1]
        wait_for_window(display, VIEWER_TITLE)
        wait_for_window(inner, SIGN_IN)  # the client is up inside the session
        yield Published(process, inner)
    finally:
        process.terminate()
        process.wait(15)
        if process.stdout is not None:
            process.stdout.close()


def wait_for_window(display: str, title: str, timeout: float = 30) -> None:
    """Until a window titled ``title`` shows on ``display`` (asked with xdotool: one
    process cannot hold python-xlib connections to both Xvfb and Xvnc, whose extension
    events differ)."""
    deadline = time.monotonic() + timeout
    while True:
        found = subprocess.run(
            ["xdotool", "search", "--name", f"^{re.escape(title)}$"],
            env={**os.environ, "DISPLAY": display},
            capture_output=True,
            check=False,
        )
        if found.stdout.strip():
            return
        assert time.monotonic() < deadline, f"no window {title!r} on {display}"
        time.sleep(0.1)
