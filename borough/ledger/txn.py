"""The ledger write this thread is recording in the audit trail right now.

Ledger changes write their audit record inside their own transaction (write-ahead). The
trail's writer, in turn, may record a signed anchor in the ledger while it writes that
record; it must use the same transaction then (on SQLite a second connection would wait
for the write lock this thread already holds). :func:`recording` marks the transaction
while an audit callback runs; :func:`current` finds it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy import Connection, Engine

P = ParamSpec("P")
T = TypeVar("T")

_local = threading.local()


@contextmanager
def recording(conn: Connection) -> Iterator[None]:
    """While the block runs, ``conn``'s transaction is the one its records belong to."""
    previous = getattr(_local, "conn", None)
    _local.conn = conn
    try:
        yield
    finally:
        _local.conn = previous


def record_in(conn: Connection, audit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call ``audit`` (which writes audit records) inside ``conn``'s transaction."""
    with recording(conn):
        return audit(*args, **kwargs)


def current(engine: Engine) -> Connection | None:
    """The transaction of ``engine`` this thread is recording, if any."""
    conn: Connection | None = getattr(_local, "conn", None)
    if conn is None or conn.engine is not engine or not conn.in_transaction():
        return None
    return conn
