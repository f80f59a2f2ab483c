"""The audit trail's anchors in the ledger database (append-only, one row per signed point).

The trail's writer appends here at every signed checkpoint and reads the latest row before
its first append; ``audit verify`` holds the trail against every row since the last restart.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, Row, func, select
from sqlalchemy.exc import SQLAlchemyError

from borough.audit.anchors import Anchor
from borough.errors import LedgerError
from borough.ledger import txn
from borough.ledger.engine import BUSY_MS, READ_ONLY
from borough.ledger.schema import audit_anchors

ANCHOR_WAIT_MS = 1000  #: at most this long for SQLite's write lock (see AnchorBook)


class AnchorBook:
    """:class:`~borough.audit.anchors.AnchorStore` over the ledger's ``borough_audit_anchors``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # The trail's writer calls this holding the trail's file lock, while a ledger write
        # elsewhere may hold the ledger's lock and wait for the file: reads never take the
        # write lock, and a write waits a second at most (the next anchor makes good a miss).
        self._reader = engine.execution_options(**{READ_ONLY: True})
        self._writer = engine.execution_options(**{BUSY_MS: ANCHOR_WAIT_MS})

    def record(self, anchor: Anchor) -> None:
        """Append ``anchor``; an older point than the latest is refused (anchors only grow).

        Signed while this thread records a ledger write, it joins that write's transaction.
        """
        if anchor.signature is None:
            raise LedgerError("an audit anchor must be signed")
        ongoing = txn.current(self._engine)
        if ongoing is not None:
            self._append(ongoing, anchor)
            return
        with self._writer.begin() as conn:
            self._append(conn, anchor)

    def _append(self, conn: Connection, anchor: Anchor) -> None:
        latest = conn.execute(
            select(audit_anchors)
            .where(audit_anchors.c.trail == anchor.trail)
            .order_by(audit_anchors.c.id.desc())
            .limit(1)
        ).first()
        if latest is not None and anchor.kind != "restart":
            if anchor.seq < latest.seq:
                raise LedgerError(
                    f"audit anchor for record {anchor.seq} is older than the latest "
                    f"({latest.seq}); anchors only move forward"
                )
            if anchor.seq == latest.seq:
                if anchor.hash != latest.hash:
                    raise LedgerError(
                        f"two different audit anchors for record {anchor.seq}: the trail "
                        "was replaced"
                    )
                return
        conn.execute(
            audit_anchors.insert().values(
                trail=anchor.trail,
                seq=anchor.seq,
                hash=anchor.hash,
                ts=anchor.ts,
                kind=anchor.kind,
                signature=anchor.signature,
                recorded_at=datetime.now(UTC),
            )
        )

    def latest(self, trail: str) -> Anchor | None:
        with self._reader.connect() as conn:
            row = conn.execute(
                select(audit_anchors)
                .where(audit_anchors.c.trail == trail)
                .order_by(audit_anchors.c.id.desc())
                .limit(1)
            ).first()
        return None if row is None else _anchor(row)

    def since_restart(self, trail: str) -> list[Anchor]:
        """Every anchor of ``trail``'s current chain (from its latest restart on), oldest first."""
        with self._reader.connect() as conn:
            restart = conn.execute(
                select(func.max(audit_anchors.c.id)).where(
                    audit_anchors.c.trail == trail, audit_anchors.c.kind == "restart"
                )
            ).scalar_one_or_none()
            rows = conn.execute(
                select(audit_anchors)
                .where(audit_anchors.c.trail == trail, audit_anchors.c.id >= (restart or 0))
                .order_by(audit_anchors.c.id)
            ).all()
        return [_anchor(row) for row in rows]

    def count(self, trail: str) -> int:
        with self._reader.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(audit_anchors.c.trail == trail)
                ).scalar_one()
            )


def read_anchors(url: str, trail: str) -> list[Anchor]:
    """The anchors of ``trail`` from a ledger at ``url``, read only (no migration, no keys).

    For ``audit verify --public-key``: an auditor without the passphrase can still hold the
    trail against the ledger. A ledger without the table (older borough) has none.
    """
    from sqlalchemy import create_engine, inspect

    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = create_engine(url)
    try:
        if "borough_audit_anchors" not in inspect(engine).get_table_names():
            return []
        return AnchorBook(engine).since_restart(trail)
    except SQLAlchemyError as exc:
        raise LedgerError(f"cannot read the audit anchors from {url}: {exc}") from None
    finally:
        engine.dispose()


def _anchor(row: Row[tuple[object, ...]]) -> Anchor:
    return Anchor(
        trail=str(row.trail),
        seq=int(row.seq),
        hash=str(row.hash),
        ts=str(row.ts),
        kind=row.kind,
        signature=str(row.signature),
    )
