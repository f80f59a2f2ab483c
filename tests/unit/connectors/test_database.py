"""The database connector on SQLite: no password in a URL, errors that name the database
without its password, and a transaction that commits only while the run holds its lease."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from borough.connect import AppServices
from borough.errors import ConnectorError, RunFencedError, TransientError
from connectors.database import DatabaseConnector, DatabaseSettings

QUERIES = {
    "make": "CREATE TABLE changes (id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE)",
    "insert": "INSERT INTO changes (ref) VALUES (:ref)",
    "find": "SELECT id, ref FROM changes WHERE ref = :ref",
    "all": "SELECT ref FROM changes ORDER BY ref",
}


def services(tmp_path: Path, *, lease: list[bool] | None = None, kept: list | None = None):
    def check_lease() -> None:
        if lease and not lease[-1]:
            raise RunFencedError("run X stopped itself: it was silent for 9.0 s")

    return AppServices(
        secret=lambda name: "pa55£word",
        capture=lambda *a, **k: None,
        step=lambda *a, **k: None,
        home=tmp_path,
        run_folder=tmp_path,
        check_lease=check_lease,
        keep_out=lambda value, secret=False: (kept if kept is not None else []).append(value),
    )


def connector(tmp_path: Path, **kwargs) -> DatabaseConnector:
    settings = DatabaseSettings(url="sqlite:///var/db/target.sqlite", queries=QUERIES)
    db = DatabaseConnector("revenues-db", settings, services(tmp_path, **kwargs))
    with db.transaction() as writes:
        writes.execute("make")
    return db


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://rpa:hunter2@db.council.local:5432/revenues",
        "mssql+pyodbc://rpa:hunter2@revenues-dsn",
    ],
)
def test_a_password_in_the_url_is_refused_without_echoing_it(url: str):
    with pytest.raises(ValidationError) as refused:
        DatabaseSettings(url=url)
    text = str(refused.value)
    assert "the URL holds a password: remove it and name a secret with credential:" in text
    assert "hunter2" not in text


def test_not_a_url_says_what_one_looks_like():
    with pytest.raises(ValidationError, match=r"dialect\+driver://user@host:port/database"):
        DatabaseSettings(url="revenues on the db server")


def test_relative_sqlite_paths_are_made_under_the_home(tmp_path: Path):
    db = connector(tmp_path)
    try:
        assert (tmp_path / "var/db/target.sqlite").exists()
        assert db.where.endswith("var/db/target.sqlite")
    finally:
        db.close()


def test_the_transaction_commits_only_under_the_lease(tmp_path: Path):
    lease = [True]
    db = connector(tmp_path, lease=lease)
    try:
        with db.transaction() as writes:
            writes.execute("insert", ref="A")
        lease.append(False)  # the run lost its lease while writing B
        with pytest.raises(RunFencedError), db.transaction() as writes:
            writes.execute("insert", ref="B")
            assert writes.one("find", ref="B") is not None, "visible inside, before commit"
        lease.append(True)
        with pytest.raises(ValueError), db.transaction() as writes:
            writes.execute("insert", ref="C")
            raise ValueError("the bot failed half-way")
        assert [row["ref"] for row in db.rows("all")] == ["A"], "B and C rolled back"
        assert db.one("find", ref="A") == {"id": 1, "ref": "A"}
    finally:
        db.close()


def test_errors_name_the_database_and_query_never_the_password(tmp_path: Path):
    kept: list = []
    settings = DatabaseSettings(
        url="postgresql+psycopg://rpa@127.0.0.1:9/revenues",
        credential="revenues-db-password",
        timeout_seconds=2,
        queries=QUERIES,
    )
    db = DatabaseConnector("revenues-db", settings, services(tmp_path, kept=kept))
    try:
        assert "pa55£word" in kept, "the password is kept out of every log"
        with pytest.raises(TransientError) as lost:
            db.one("find", ref="A")  # nothing listens on port 9: retried, not failed
        text = str(lost.value)
        assert text.startswith("database revenues-db (postgresql+psycopg://rpa:***@127.0.0.1:9")
        assert ", find: " in text and "pa55" not in text
    finally:
        db.close()
    local = connector(tmp_path)
    try:
        with (
            pytest.raises(ConnectorError, match=r"database revenues-db .*, insert: .*UNIQUE"),
            local.transaction() as writes,
        ):
            writes.execute("insert", ref="A")
            writes.execute("insert", ref="A")
    finally:
        local.close()
