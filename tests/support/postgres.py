"""A throw-away PostgreSQL server for the test session (Debian's server binaries).

initdb/pg_ctl refuse to run as root, so the cluster lives in a temp dir owned by
``postgres`` and the commands run through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

#: ``params`` of a fixture run over both ledger stores; the PostgreSQL one starts a server,
#: so it carries the ``postgres`` marker (``-m "not postgres"`` leaves it out).
LEDGER_STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def postgres_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]) if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def temporary_postgres() -> Iterator[str]:
    """Start a cluster, yield ``postgresql://postgres@127.0.0.1:PORT/postgres``, remove it."""
    pg_bin = postgres_bin()
    if pg_bin is None:
        raise FileNotFoundError("PostgreSQL server binaries not found (apt-get install postgresql)")
    base = Path(tempfile.mkdtemp(prefix="borough-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        as_postgres = ["runuser", "-u", "postgres", "--"]
        os.chmod(base, 0o755)
        shutil.chown(base, "postgres", "postgres")
    data, sock = base / "data", base / "sock"
    port = free_port()
    try:
        subprocess.run([*as_postgres, "mkdir", "-p", str(data), str(sock)], check=True)
        subprocess.run(
            [
                *as_postgres,
                str(pg_bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = (
            f"-k {sock} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        )
        subprocess.run(
            [
                *as_postgres,
                str(pg_bin / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(base / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [
                *as_postgres,
                str(pg_bin / "pg_ctl"),
                "-D",
                str(data),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """A fresh database on the session server; returns its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
