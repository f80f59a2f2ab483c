"""An older ledger is upgraded in place (tables, indexes, nullable columns added); data kept."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, create_engine, inspect, text

from borough.drift.store import DriftBook
from borough.errors import LedgerError
from borough.ledger import migrate
from borough.ledger.schema import meta
from scheduler.events.store import EventStore


def _v1() -> MetaData:
    md = MetaData()
    Table("things", md, Column("id", Integer, primary_key=True), Column("name", String(20)))
    meta.to_metadata(md)
    return md


def _v2() -> MetaData:
    md = MetaData()
    Table(
        "things",
        md,
        Column("id", Integer, primary_key=True),
        Column("name", String(20)),
        Column("colour", String(20)),
        Index("ix_things_colour", "colour"),
    )
    Table("others", md, Column("id", Integer, primary_key=True))
    meta.to_metadata(md)
    return md


def test_an_older_database_gains_the_new_tables_columns_and_indexes(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        migrate.migrate(conn, _v1(), key="v", version=1, what="test db")
        conn.execute(text("INSERT INTO things (id, name) VALUES (1, 'kept')"))
    steps_run: list[int] = []
    with engine.begin() as conn:
        migrate.migrate(
            conn,
            _v2(),
            key="v",
            version=2,
            steps={2: lambda c: steps_run.append(2)},
            what="test db",
        )
    found = inspect(engine)
    assert {c["name"] for c in found.get_columns("things")} == {"id", "name", "colour"}
    assert "others" in found.get_table_names()
    assert "ix_things_colour" in {i["name"] for i in found.get_indexes("things")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, colour FROM things")).all() == [("kept", None)]
        assert conn.execute(text("SELECT value FROM borough_meta WHERE key='v'")).scalar() == "2"
    assert steps_run == [2]


def test_a_required_column_without_default_cannot_be_added(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        migrate.migrate(conn, _v1(), key="v", version=1, what="test db")
    md = _v1()
    md.tables["things"].append_column(Column("must", String(5), nullable=False))
    with pytest.raises(LedgerError, match="must be nullable"), engine.begin() as conn:
        migrate.migrate(conn, md, key="v", version=2, what="test db")


def test_a_newer_database_is_refused(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        migrate.migrate(conn, _v2(), key="v", version=2, what="test db")
    refused = pytest.raises(LedgerError, match="has schema version 2; this borough reads version 1")
    with refused, engine.begin() as conn:
        migrate.migrate(conn, _v1(), key="v", version=1, what="test db")


SIDE_TABLES = [
    (DriftBook, "drift_schema_version", "drift part of the ledger"),
    (EventStore, "events_schema_version", "trigger events store"),
]


@pytest.mark.parametrize(("store", "key", "what"), SIDE_TABLES)
def test_side_tables_are_versioned_under_their_own_key_and_a_newer_one_is_refused(
    tmp_path: Path, store: Any, key: str, what: str
):
    engine = create_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    store(engine)
    store(engine)  # the second opening finds its version and changes nothing
    with engine.begin() as conn:
        assert conn.execute(text(f"SELECT value FROM borough_meta WHERE key='{key}'")).scalar()
        conn.execute(text(f"UPDATE borough_meta SET value = '99' WHERE key = '{key}'"))
    with pytest.raises(LedgerError, match=f"the {what} has schema version 99"):
        store(engine)


@pytest.mark.parametrize(("store", "key", "what"), SIDE_TABLES)
def test_a_ledger_file_that_is_not_a_database_is_named_not_a_driver_trace(
    tmp_path: Path, store: Any, key: str, what: str
):
    damaged = tmp_path / "ledger.sqlite"
    damaged.write_bytes(b"this is not a database\n" * 100)
    with pytest.raises(LedgerError, match=f"cannot prepare the {what}: "):
        store(create_engine(f"sqlite:///{damaged}"))


@pytest.mark.postgres
def test_machines_starting_together_create_side_tables_once(postgres_url: str):
    """Several machines first use a part together (a scheduler and runners starting at
    once): each prepares its tables without tripping over the others' CREATE TABLE
    (PostgreSQL refused the second with a duplicate pg_type row)."""
    engine = create_engine(postgres_url, pool_size=8)
    try:
        for trial in range(6):
            md = MetaData()
            Table(f"race_{trial}", md, Column("id", Integer, primary_key=True))
            Table(f"race_{trial}_more", md, Column("id", Integer, primary_key=True))
            start = threading.Barrier(6)
            errors: list[BaseException] = []

            def prepare(
                md: MetaData = md, trial: int = trial, start: Any = start, errors: Any = errors
            ) -> None:
                start.wait()
                try:
                    migrate.prepare_tables(
                        engine, md, key=f"race-{trial}", version=1, what="race part"
                    )
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=prepare) for _ in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == [], errors[0]
            assert {f"race_{trial}", f"race_{trial}_more"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
