"""Runner machines of a scale-out installation, as the ledger knows them.

Each ``borough serve worker`` keeps one row (its host name, as borough records it) with the
queues it serves and a heartbeat. The row is the runner's own: it is created or taken over
when the worker starts (a restarted machine keeps its row), renewed while it runs and marked
stopped when it stops cleanly. A runner whose heartbeat is old is shown as silent; nothing
is decided from it (runs and items are judged by their own leases).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from borough.ledger.item_reads import aware
from borough.ledger.schema import runners
from borough.ledger.times import utcnow


@dataclass(frozen=True)
class Runner:
    host: str
    pid: int
    queues: tuple[str, ...]
    concurrency: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    beat_seconds: float | None = None  #: None: recorded by an older borough

    def silent_seconds(self, now: datetime | None = None) -> float:
        return ((now or utcnow()) - self.heartbeat_at).total_seconds()


class RunnerBook:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def register(
        self,
        host: str,
        pid: int,
        queues: Sequence[str],
        concurrency: int,
        version: str,
        *,
        beat_seconds: float | None = None,
    ) -> None:
        """This machine's row, created or taken over (a restart keeps the host's row);
        ``beat_seconds``: how often it will beat, so readers know when it is silent."""
        now = utcnow()
        values = {
            "pid": pid,
            "queues": json.dumps(list(queues)),
            "concurrency": concurrency,
            "version": version,
            "started_at": now,
            "heartbeat_at": now,
            "stopped_at": None,
            "beat_seconds": beat_seconds,
        }
        with self._engine.begin() as conn:
            changed = conn.execute(update(runners).where(runners.c.host == host).values(**values))
            if changed.rowcount == 0:
                conn.execute(runners.insert().values(host=host, **values))

    def beat(self, host: str, pid: int) -> bool:
        """Renew the heartbeat; False if another process now owns the host's row."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(runners)
                .where(runners.c.host == host, runners.c.pid == pid)
                .values(heartbeat_at=utcnow())
            )
        return result.rowcount == 1

    def stopped(self, host: str, pid: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(runners)
                .where(runners.c.host == host, runners.c.pid == pid)
                .values(stopped_at=utcnow())
            )

    def list(self) -> list[Runner]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(runners).order_by(runners.c.host)).all()
        return [
            Runner(
                host=row.host,
                pid=row.pid,
                queues=tuple(json.loads(row.queues or "[]")),
                concurrency=row.concurrency,
                version=row.version,
                started_at=aware(row.started_at),
                heartbeat_at=aware(row.heartbeat_at),
                stopped_at=aware(row.stopped_at) if row.stopped_at else None,
                beat_seconds=row.beat_seconds,
            )
            for row in rows
        ]
