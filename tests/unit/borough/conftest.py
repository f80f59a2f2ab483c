"""The ledger fixture: the same contract tests run over SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from borough.ledger import Ledger, Sealer, open_ledger
from tests.support.postgres import LEDGER_STORES


@pytest.fixture(params=LEDGER_STORES)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = open_ledger(url, Sealer(secrets.token_bytes(32)))
    yield store
    store.close()
