"""One engine set-up for borough's SQLite databases: writers queue, readers never wait."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from borough.ledger import txn
from borough.ledger.engine import READ_ONLY, open_engine

SHORT_WAIT = {txn.BUSY_MS: 200}  # a writer waits this long for the lock, not 60 s


def test_a_read_only_connection_reads_while_this_process_holds_the_write_lock(tmp_path: Path):
    engine = open_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (v INT)")
    with engine.begin() as writer:
        writer.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.connect().execution_options(**READ_ONLY, **SHORT_WAIT) as reader:
            assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0, "a snapshot"
        # any other transaction queues for the write lock
        other = engine.connect().execution_options(**SHORT_WAIT)
        with other, pytest.raises(OperationalError, match="database is locked"):
            other.exec_driver_sql("SELECT 1")
    with engine.connect().execution_options(**READ_ONLY) as reader:
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    engine.dispose()
    assert oct((tmp_path / "ledger.sqlite").stat().st_mode & 0o777) == "0o600"
