"""A seeded installation served by uvicorn on loopback, and signed-in HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from borough.cli._schedule_control import SchedulerControl
from borough.dashboard.app import create_app
from borough.dashboard.state import Dashboard
from borough.testing import runtime_in
from tests.support.dashboard import FAST_HASHER, Clock, Site, seed, serving


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    seeded = seed(tmp_path_factory.mktemp("dashboard"))
    clock = Clock()
    with runtime_in(seeded.home) as runtime:
        control = SchedulerControl(runtime)
        dash = Dashboard.open(runtime, hasher=FAST_HASHER, clock=clock, schedules=control)
        app = create_app(dash)
        with serving(app) as url:
            site = Site(url, app, dash, seeded, clock)
            yield site
            site.close_clients()


@pytest.fixture(autouse=True)
def _fresh_clients(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "site" in request.fixturenames:
        request.getfixturevalue("site").close_clients()


@pytest.fixture
def clock(site: Site) -> Iterator[Clock]:
    """The site's clock, put back after the test."""
    yield site.clock
    site.clock.offset = site.clock.offset * 0
