"""A seeded installation served by uvicorn on loopback, and signed-in HTTP clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI

from borough.dashboard.app import create_app
from borough.dashboard.state import Dashboard
from borough.testing import runtime_in
from tests.support.dashboard import FAST_HASHER, PASSWORD, Clock, Seeded, seed, serving

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    url: str
    app: FastAPI
    dash: Dashboard
    seeded: Seeded
    clock: Clock
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self) -> httpx.Client:
        """A fresh browser-like client (closed when the site stops)."""
        client = httpx.Client(base_url=self.url, timeout=30)
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        while self.clients:
            self.clients.pop().close()

    def sign_in(self, name: str, password: str = PASSWORD) -> httpx.Client:
        client = self.client()
        response = post_form(client, "/sign-in", "/sign-in", name=name, password=password)
        assert response.status_code == 303, response.text
        return client

    def audit(self) -> list[dict]:
        import json

        log = self.dash.runtime.paths.audit / "audit.jsonl"
        return [json.loads(line) for line in log.read_text("utf-8").splitlines() if line]


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def post_form(client: httpx.Client, page: str, action: str, **data) -> httpx.Response:
    """Load ``page`` for its CSRF token, then post ``data`` to ``action`` as its form would."""
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data})


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    seeded = seed(tmp_path_factory.mktemp("dashboard"))
    clock = Clock()
    with runtime_in(seeded.home) as runtime:
        dash = Dashboard.open(runtime, hasher=FAST_HASHER, clock=clock)
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
