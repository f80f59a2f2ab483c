"""Upgrade a database written by an older borough: versioned, additive, refuse the newer.

Each schema version adds tables, indexes or nullable columns; ``upgrade_additively`` brings
an older database up to the tables the code declares, and per-version ``steps`` may then fill
in data. A database written by a *newer* borough is refused, never guessed at.

The ledger's own tables and each part's side tables (dashboard, drift, trigger events) live
in the same database, each versioned under its own key in ``borough_meta``:
``prepare_tables`` is the one way a part creates and upgrades its tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import Connection, Engine, MetaData, inspect, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import CreateColumn

from borough.errors import LedgerError
from borough.ledger.schema import meta

Step = Callable[[Connection], None]

#: PostgreSQL advisory lock (per database) held by the transaction that creates or upgrades
#: tables: machines starting together take turns, and the later ones find the work done
#: (concurrent CREATE TABLE fails on PostgreSQL's catalogue). SQLite's BEGIN IMMEDIATE
#: already serialises them.
SCHEMA_LOCK = 0x626F726F_7567


def upgrade_additively(conn: Connection, metadata: MetaData) -> list[str]:
    """Create missing tables and indexes and add missing columns; returns what was added.

    A column added to an existing table must be nullable or carry a server default, since
    the rows already there get no value.
    """
    added: list[str] = []
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in existing:
            table.create(conn)
            added.append(table.name)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable and column.server_default is None:
                raise LedgerError(
                    f"cannot add column {table.name}.{column.name} to an existing ledger: "
                    "new columns must be nullable or have a server default"
                )
            ddl = CreateColumn(column).compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")
            added.append(f"{table.name}.{column.name}")
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(conn)
                added.append(str(index.name))
    return added


def take_turns(conn: Connection) -> None:
    """Hold the schema lock until ``conn``'s transaction ends (PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises writers)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})


def create_missing(engine: Engine, metadata: MetaData) -> None:
    """``metadata.create_all`` for unversioned tables, machines starting together taking
    turns."""
    with engine.begin() as conn:
        take_turns(conn)
        metadata.create_all(conn, checkfirst=True)


def migrate(
    conn: Connection,
    metadata: MetaData,
    *,
    key: str,
    version: int,
    steps: Mapping[int, Step] | None = None,
    what: str,
) -> None:
    """Bring the tables of ``metadata`` (versioned under ``key`` in borough_meta) to ``version``.

    ``steps[n]`` runs after the additive upgrade when a database moves to version ``n``.
    """
    take_turns(conn)
    meta.create(conn, checkfirst=True)
    found = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()
    if found is None:
        metadata.create_all(conn)
        conn.execute(meta.insert().values(key=key, value=str(version)))
        return
    try:
        current = int(found)
    except ValueError:
        raise LedgerError(f"the {what} records an unreadable schema version {found!r}") from None
    if current > version:
        raise LedgerError(
            f"the {what} has schema version {current}; this borough reads version {version} "
            "or older (upgrade borough, or use another ledger)"
        )
    if current == version:
        return
    upgrade_additively(conn, metadata)
    for step_version in range(current + 1, version + 1):
        step = (steps or {}).get(step_version)
        if step is not None:
            step(conn)
    conn.execute(update(meta).where(meta.c.key == key).values(value=str(version)))


def prepare_tables(
    engine: Engine,
    metadata: MetaData,
    *,
    key: str,
    version: int,
    what: str,
    steps: Mapping[int, Step] | None = None,
) -> None:
    """Create a part's side tables on first use, upgrade older ones, refuse newer ones.

    One transaction; a database that cannot be reached or written raises a LedgerError
    naming ``what`` (e.g. "drift part of the ledger") instead of a driver exception.
    """
    try:
        with engine.begin() as conn:
            migrate(conn, metadata, key=key, version=version, steps=steps, what=what)
    except SQLAlchemyError as exc:
        raise LedgerError(f"cannot prepare the {what}: {exc}") from None
