"""A seeded installation served by uvicorn on loopback, and signed-in HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.dashboard import Clock, Site, seeded_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with seeded_site(tmp_path_factory.mktemp("dashboard")) as site:
        yield site


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
    site.clock.frozen = None
