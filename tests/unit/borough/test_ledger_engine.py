"""One engine set-up for borough's SQLite databases: writers queue, readers never wait."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from borough.ledger.engine import BUSY_MS, READ_ONLY, WAL_CHECKPOINT_PAGES, open_engine


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


def _folder(where: str, tmp_path: Path) -> Path:
    if where == "tmp_path":
        return tmp_path
    if not Path(where).is_dir():
        pytest.skip(f"{where} is not here")
    return Path(tempfile.mkdtemp(dir=where))


@pytest.mark.parametrize("where", ["tmp_path", "/dev/shm", "/var/tmp"])
def test_a_second_engine_in_the_process_leaves_the_first_ones_locks_alone(
    where: str, tmp_path: Path
):
    """A scheduler service keeps its ledger open while a command in the same process
    (``runs_of``) opens another engine, and its runs (other processes) open and close
    theirs. Opening the second engine must not drop the POSIX locks the first one holds
    (closing any descriptor of the file does): another process then believes it is the
    last one, checkpoints and removes the WAL, and the service's next write fails with
    "disk I/O error"."""
    folder = _folder(where, tmp_path)
    try:
        path = folder / "ledger.sqlite"
        first = open_engine(f"sqlite:///{path}")
        with first.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (v INT)")
        for n in range(3):
            with first.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (?)", (n,))
            second = open_engine(f"sqlite:///{path}")
            with second.connect() as conn:
                assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == n + 1
            second.dispose()
            subprocess.run(  # a run of the scheduler: opens the ledger, reads, closes
                [sys.executable, "-c", READ_AND_CLOSE, str(path)], check=True, timeout=60
            )
            with first.begin() as conn:
                assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == n + 1
        first.dispose()
    finally:
        if folder != tmp_path:
            shutil.rmtree(folder)


READ_AND_CLOSE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM t").fetchall()
conn.close()
"""


def test_every_connection_checkpoints_the_wal_at_the_same_size(tmp_path: Path):
    """Whichever connection commits (a run, the dashboard, the index feed), the WAL is
    copied into the database at WAL_CHECKPOINT_PAGES, not at SQLite's 1,000."""
    engine = open_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with engine.connect() as first, engine.connect() as second:
        for conn in (first, second):
            raw = conn.connection.dbapi_connection
            pages = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
            assert pages == WAL_CHECKPOINT_PAGES > 1_000
    engine.dispose()
