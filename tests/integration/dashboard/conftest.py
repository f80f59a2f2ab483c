"""Real Chromium (Debian's, through pytest-playwright) against a seeded dashboard."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.conftest import ROOT, require
from tests.support.dashboard import Clock, Site, seeded_site

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    exe = shutil.which("chromium")
    require(exe is not None, "Debian chromium", "apt-get install chromium")
    return {**browser_type_launch_args, "executable_path": exe}


@pytest.fixture(scope="session")
def axe_script() -> str:
    require(AXE.exists(), "axe-core", "run ./scripts/bootstrap (npm ci) at the project root")
    return AXE.read_text("utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with seeded_site(tmp_path_factory.mktemp("dashboard")) as site:
        yield site


@pytest.fixture
def clock(site: Site) -> Iterator[Clock]:
    yield site.clock
    site.clock.offset = site.clock.offset * 0


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Browser contexts a test opens (``open_page``), closed after it."""
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()
