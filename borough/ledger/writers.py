"""The writers of the installation's audit trails: one row per runner machine.

Each writer (``borough.host.host_name()``) signs its own chain with its own Ed25519 key;
registering its public key here lets every other machine, and an auditor with ledger
access, verify that chain and know which machines write at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from borough.ledger.engine import READ_ONLY
from borough.ledger.schema import audit_verified, audit_writers


@dataclass(frozen=True)
class Writer:
    trail: str
    public_key: str  #: PEM
    folder: str | None
    registered_at: datetime


class WriterBook:
    """``borough_audit_writers``: register once, read often, never rewrite a key."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, trail: str) -> Writer | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(audit_writers).where(audit_writers.c.trail == trail)).first()
        return None if row is None else Writer(*row)

    def all(self) -> list[Writer]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(audit_writers).order_by(audit_writers.c.trail)).all()
        return [Writer(*row) for row in rows]

    def folders(self) -> dict[str, str]:
        return {w.trail: w.folder for w in self.all() if w.folder}

    def register(self, trail: str, public_key: str, folder: str | None) -> Writer:
        """Record ``trail``'s key unless it is registered; returns the registration kept."""
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    audit_writers.insert().values(
                        trail=trail,
                        public_key=public_key,
                        folder=folder,
                        registered_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            pass
        found = self.get(trail)
        assert found is not None
        if found.public_key == public_key and found.folder != folder and folder:
            with self._engine.begin() as conn:
                conn.execute(
                    audit_writers.update()
                    .where(audit_writers.c.trail == trail)
                    .values(folder=folder)
                )
            found = Writer(found.trail, found.public_key, folder, found.registered_at)
        return found


class VerifiedBook:
    """``borough_audit_verified``: one signed point per trail and verifier (see
    :mod:`borough.audit.verified`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, trail: str, verifier: str) -> str | None:
        query = select(audit_verified.c.state).where(
            audit_verified.c.trail == trail, audit_verified.c.verifier == verifier
        )
        with self._engine.connect() as conn:
            found = conn.execute(query.execution_options(**{READ_ONLY: True})).scalar_one_or_none()
        return None if found is None else str(found)

    def put(self, trail: str, verifier: str, state: str) -> None:
        now = datetime.now(UTC)
        where = (audit_verified.c.trail == trail) & (audit_verified.c.verifier == verifier)
        with self._engine.begin() as conn:
            done = conn.execute(
                audit_verified.update().where(where).values(state=state, verified_at=now)
            ).rowcount
            if not done:
                conn.execute(
                    audit_verified.insert().values(
                        trail=trail, verifier=verifier, state=state, verified_at=now
                    )
                )
