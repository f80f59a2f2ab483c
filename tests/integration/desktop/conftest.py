"""One virtual display (Xvfb + openbox) for every desktop test of the session.

pyautogui binds its X connection when imported, so a test process works on one display.
Under CI=true a missing Xvfb, xclip or openbox fails the run instead of skipping.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import require


@pytest.fixture(scope="session")
def desktop_display() -> Iterator[str]:
    for tool, package in (("Xvfb", "xvfb"), ("xclip", "xclip"), ("openbox", "openbox")):
        require(shutil.which(tool) is not None, tool, f"apt-get install {package}")
    from connectors.desktop import virtual_display

    with virtual_display() as name:
        yield name
