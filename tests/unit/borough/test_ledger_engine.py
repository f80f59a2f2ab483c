"""One engine set-up for borough's SQLite databases: writers queue, readers never wait."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from borough.ledger.engine import BUSY_MS, READ_ONLY, open_engine


def short_wait(conn) -> None:
    conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=200")


def test_a_read_only_connection_reads_while_this_process_holds_the_write_lock(tmp_path: Path):
    engine = open_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (v INT)")
    with engine.begin() as writer:
        writer.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.connect().execution_options(**{READ_ONLY: True}) as reader:
            short_wait(reader)
            assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0, "a snapshot"
        # any other transaction queues for the write lock (here for 0.2 s, not 60)
        with (
            engine.connect().execution_options(**{BUSY_MS: 200}) as other,
            pytest.raises(OperationalError, match="database is locked"),
        ):
            other.exec_driver_sql("SELECT 1")
    with engine.connect().execution_options(**{READ_ONLY: True}) as reader:
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    engine.dispose()
    assert oct((tmp_path / "ledger.sqlite").stat().st_mode & 0o777) == "0o600"
