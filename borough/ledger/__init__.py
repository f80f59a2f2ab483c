"""The run ledger and work-item ledger (DESIGN invariants 1 and 2)."""

from __future__ import annotations

from borough.ledger.item_ingest import Ingested, NewItem
from borough.ledger.items import ItemQueue
from borough.ledger.lease import RunLease
from borough.ledger.models import Claim, ItemRecord, ItemState, RunCounts, RunRecord, RunStatus
from borough.ledger.runs import RunBook
from borough.ledger.sealing import Sealer
from borough.ledger.store import Ledger, PostgresLedger, SqliteLedger, open_ledger

__all__ = [
    "Claim",
    "Ingested",
    "ItemQueue",
    "ItemRecord",
    "ItemState",
    "Ledger",
    "NewItem",
    "PostgresLedger",
    "RunBook",
    "RunCounts",
    "RunLease",
    "RunRecord",
    "RunStatus",
    "Sealer",
    "SqliteLedger",
    "open_ledger",
]
