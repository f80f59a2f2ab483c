"""Closing a runtime leaves no database connection behind, on SQLite and PostgreSQL.

The trail sends its last audit index rows to the ledger when it closes; closed after the
ledger's engine had been disposed, that re-opened a connection nobody closed (psycopg
warned "was deleted while still open" in whichever later test the collector ran).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, func, select, text

from borough.ledger.schema import audit_index
from borough.testing import make_home, runtime_in
from tests.support.postgres import LEDGER_STORES

ACTION = "scheduler.start"


def sessions_on(db_url: str) -> int:
    """Sessions of other clients on ``db_url``'s database (this query's own excluded)."""
    engine = create_engine("postgresql+psycopg://" + db_url.split("://", 1)[1])
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("store", LEDGER_STORES)
def test_closing_a_runtime_sends_the_last_index_rows_and_keeps_no_connection(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
):
    url = (
        request.getfixturevalue("postgres_url")
        if store == "postgresql"
        else f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    )
    home = make_home(
        tmp_path / "home",
        files={"config/borough.yaml": yaml.safe_dump({"ledger": {"url": url}})},
    )
    with runtime_in(home) as runtime:
        for _ in range(3):  # waiting in the index's batch (sent every 0.5 s or on close)
            runtime.trail.emit(ACTION, detail={"pid": 1})
        engine = runtime.ledger.engine
    assert engine.pool.checkedin() == 0 and engine.pool.checkedout() == 0, engine.pool.status()
    if store == "postgresql":
        assert sessions_on(url) == 0
    reader = create_engine(url if store == "sqlite" else "postgresql+psycopg://" + url[13:])
    try:
        with reader.connect() as conn:
            indexed = conn.execute(
                select(func.count()).where(audit_index.c.action == ACTION)
            ).scalar_one()
    finally:
        reader.dispose()
    assert indexed == 3, "the rows waiting in the index's batch reached the ledger on close"
