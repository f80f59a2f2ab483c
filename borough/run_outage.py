"""A run's pauses while the ledger's database does not answer.

A statement that fails is an outage only if a probe (``SELECT 1`` on a fresh connection)
confirms the database does not answer; any other database error fails the run as before.
While it is away nothing is claimed or recorded. When it answers again the run proves its
lease first: silent past lease + grace on a multi-host installation, another run may have
adopted its items, and then it is fenced (:class:`~borough.errors.RunFencedError`) and
stops; otherwise the item it held when the connection dropped is taken up again as an
orphan of its own (CLAIMED back to PENDING, IN_FLIGHT checked in the target first).
Ingest, the work and the run's end all go through :meth:`LedgerOutages.through`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from loguru import logger
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from borough.audit.trail import AuditTrail
    from borough.ledger.lease import RunLease
    from borough.ledger.store import Ledger

T = TypeVar("T")

DB_RETRY_FIRST, DB_RETRY_MAX = 0.5, 2.0  #: seconds between looks for a lost database


class LedgerOutages:
    """Pause-and-resume around a run's ledger work; one per run."""

    def __init__(self, ledger: Ledger, lease: RunLease, trail: AuditTrail, run_id: str) -> None:
        self.ledger, self.lease, self.trail, self.run_id = ledger, lease, trail, run_id
        self.pauses = 0

    def through(self, action: Callable[[], T], *, stage: str) -> T:
        """``action()``, paused and tried again for as long as the database is away."""
        while True:
            try:
                return action()
            except DBAPIError as exc:
                if self.ledger.reachable():
                    raise  # not an outage: the run fails with the error
                self.pause(exc, stage=stage)

    def pause(self, exc: DBAPIError, *, stage: str, note: bool = True) -> None:
        """Wait until the database answers, then prove the lease (fenced if taken over).

        ``note=False`` leaves ``run.resumed`` out of the trail (the run's end is already
        there: nothing of the run follows it).
        """
        self.pauses += 1
        logger.bind(action="run.paused", run_id=self.run_id).warning(
            "the ledger's database is unreachable during {}; pausing until it answers: {}",
            stage,
            str(exc).splitlines()[0],
        )
        wait = DB_RETRY_FIRST
        while not self.ledger.reachable():
            time.sleep(wait)
            wait = min(wait * 2, DB_RETRY_MAX)
        self.ledger.runs.keep(self.lease)  # fenced if taken over meanwhile
        if note:
            self.trail.emit(
                "run.resumed", detail={"paused_by": "ledger unreachable", "during": stage}
            )
