"""Fixtures shared by every test: a throw-away installation, CI strictness, PostgreSQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from borough.runtime import Runtime
from borough.testing import home_env, make_home, runtime_in

if TYPE_CHECKING:
    from tests.support.imap import ImapServer

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(ok: bool, what: str, hint: str) -> None:
    """Skip on a laptop without ``what``; under CI=true a missing component fails the run."""
    if ok:
        return
    message = f"{what} is not available ({hint})"
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _forget_passphrases() -> Iterator[None]:
    """A process keeps the passphrase it took from its environment; tests change that
    environment between CLI calls, so each test starts with none kept."""
    from borough.secrets.passphrase import forget_passphrases

    forget_passphrases()
    yield
    forget_passphrases()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An installation with the shipped config and sample data."""
    home = make_home(tmp_path / "home", config=ROOT / "config")
    shutil.copytree(ROOT / "sample-data", home / "sample-data")
    return home


@pytest.fixture
def runtime(home: Path) -> Iterator[Runtime]:
    with runtime_in(home) as runtime:
        yield runtime


@pytest.fixture
def cli_env(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment (set for this test) that points the CLI at ``home``."""
    env = home_env(home)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server started for this test session (fails under CI if absent)."""
    from tests.support.postgres import postgres_bin, temporary_postgres

    require(postgres_bin() is not None, "PostgreSQL", "apt-get install postgresql")
    with temporary_postgres() as url:
        yield url


@pytest.fixture
def imap_server(request: pytest.FixtureRequest) -> Iterator[ImapServer]:
    """A dovecot IMAP server for one test (fails under CI if dovecot is absent); the test
    must carry the ``imap`` marker."""
    from tests.support.imap import available, dovecot_server

    if request.node.get_closest_marker("imap") is None:
        pytest.fail(f"{request.node.nodeid} starts dovecot without the imap marker", pytrace=False)
    require(available(), "dovecot (IMAP server)", "apt-get install dovecot-imapd")
    with dovecot_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the session server for one test.

    A test that asks for one must carry the ``postgres`` marker (LEDGER_STORES gives it to
    the PostgreSQL parameter), or ``./scripts/test --fast`` would start a server after all.
    """
    import re

    from tests.support.postgres import create_database

    if request.node.get_closest_marker("postgres") is None:
        pytest.fail(
            f"{request.node.nodeid} starts PostgreSQL without the postgres marker: "
            "parametrise over tests.support.postgres.LEDGER_STORES or mark it",
            pytrace=False,
        )

    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    return create_database(postgres_server, name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run tests that use pytest-playwright's fixtures last.

    pytest-playwright keeps one sync Playwright running for the rest of the session once a
    test asks for it, and no other sync Playwright (the web connector's, for example) can
    start in this process after that ("using Playwright Sync API inside the asyncio loop").
    """
    items.sort(key=lambda item: "playwright" in getattr(item, "fixturenames", ()))
