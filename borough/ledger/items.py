"""The work-item queue: ingest, claim with a fencing token, and fenced state changes.

Claims are one atomic ``UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING`` (with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL); every later write names the claim's fence and
changes nothing if another run has since taken the item (:class:`LeaseLostError`).
A claim and an intent first prove the run's lease in the same transaction
(:meth:`RunLease.prove`).

Write-ahead audit: every change takes an ``audit`` callback that writes (and fsyncs) the
change's audit record *inside* the transaction, after the fenced ``UPDATE`` and before the
commit. If the record cannot be written the change rolls back; if the process dies after
the record, the ledger still shows the old state and recovery confirms the record.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, or_, select, update

from borough.errors import LedgerError
from borough.ledger import txn
from borough.ledger.item_ingest import Ingested, ItemIngest, NewItem
from borough.ledger.item_reads import ItemReader, aware
from borough.ledger.lease import RunLease
from borough.ledger.models import Claim, ItemData, ItemRecord, ItemState, RunStatus
from borough.ledger.moves import Move, lost
from borough.ledger.schema import items, runs
from borough.ledger.sealing import Sealer
from borough.ledger.times import utcnow

#: Writes the audit record of a change inside its transaction (see the module docstring).
Audit = Callable[[], object]

#: Rows per multi-row insert (bound parameters stay far below SQLite's limit).
_INGEST_CHUNK = 500


class ItemQueue(ItemReader):
    def __init__(self, engine: Engine, sealer: Sealer, *, skip_locked: bool) -> None:
        super().__init__(engine, sealer)
        self._skip_locked = skip_locked
        self._ingest = ItemIngest(
            engine.dialect, sealer, lambda row: self._to_item(row, unseal=False)
        )

    # -- ingest ------------------------------------------------------------------------
    def ingest(
        self,
        bot: str,
        run_id: str,
        batch: Iterable[NewItem],
        *,
        audit: Callable[[list[tuple[NewItem, ItemRecord, Ingested]]], object] | None = None,
    ) -> list[tuple[ItemRecord, Ingested]]:
        """Record each item unless its key is known; a corrected invalid row replaces its item.

        ``audit`` gets every (new item, record, outcome) of the batch inside the transaction.
        """
        now = utcnow()
        batch = list(batch)
        if not batch:
            return []
        result: list[tuple[NewItem, ItemRecord, Ingested]] = []
        with self._engine.begin() as conn:
            for start in range(0, len(batch), _INGEST_CHUNK):
                chunk = batch[start : start + _INGEST_CHUNK]
                result += self._ingest.chunk(conn, bot, run_id, chunk, now)
            if audit is not None:
                txn.record_in(conn, audit, result)
        return [(record, outcome) for _, record, outcome in result]

    # -- claims ------------------------------------------------------------------------
    def claim_next(self, bot: str, run_id: str, *, lease: RunLease | None = None) -> Claim | None:
        """Take the oldest PENDING item whose retry time has come, or None.

        With ``lease``, the run proves it in the same transaction first.
        """
        claims = self.claim_many(bot, run_id, 1, lease=lease)
        return claims[0] if claims else None

    def claim_many(
        self, bot: str, run_id: str, count: int, *, lease: RunLease | None = None
    ) -> list[Claim]:
        """Take up to ``count`` of the oldest due PENDING items in one transaction (a batch).

        With ``lease``, the run proves it in the same transaction first.
        """
        now = utcnow()
        pick = (
            select(items.c.id)
            .where(
                items.c.bot == bot,
                items.c.state == ItemState.PENDING.value,
                or_(items.c.not_before.is_(None), items.c.not_before <= now),
            )
            .order_by(items.c.id)
            .limit(count)
        )
        if self._skip_locked:
            pick = pick.with_for_update(skip_locked=True)
        stmt = (
            update(items)
            .where(items.c.state == ItemState.PENDING.value)
            .values(
                state=ItemState.CLAIMED.value,
                owner_run=run_id,
                last_run=run_id,
                fence=items.c.fence + 1,
                attempt=items.c.attempt + 1,
                updated_at=now,
            )
            .returning(items.c.id, items.c.fence, items.c.attempt)
        )
        with self._engine.begin() as conn:
            if lease is not None:
                lease.prove(conn)
            if count == 1:
                rows = conn.execute(stmt.where(items.c.id == pick.scalar_subquery())).all()
            elif not self._skip_locked:  # SQLite: the writer holds the database, one statement
                rows = conn.execute(stmt.where(items.c.id.in_(pick.scalar_subquery()))).all()
            else:  # picked first: PostgreSQL may run an IN (… LIMIT … SKIP LOCKED) more than once
                picked = conn.execute(pick).scalars().all()
                rows = conn.execute(stmt.where(items.c.id.in_(picked))).all() if picked else []
        claims = [Claim(row.id, run_id, row.fence, row.attempt, ItemState.CLAIMED) for row in rows]
        return sorted(claims, key=lambda claim: claim.item_id)

    def claimed(self, claims: Sequence[Claim]) -> dict[int, ItemData]:
        """What working ``claims`` needs of their items, in one read of those columns alone
        (no timestamps parsed, no record rebuilt); ids not in the ledger are absent."""
        wanted = [claim.item_id for claim in claims]
        with self._reader.connect() as conn:
            rows = conn.execute(select(*_WORK_COLUMNS).where(items.c.id.in_(wanted))).all()
        unseal = self._sealer.unseal
        found: dict[int, ItemData] = {}
        for item_id, token, subjects, categories, source, payload in rows:
            sealed = unseal(payload) if payload is not None else {}
            found[item_id] = ItemData(
                item_id,
                token,
                tuple(subjects.split()) if subjects else (),
                tuple(categories.split()) if categories else (),
                sealed.get("key"),
                sealed.get("data"),
                source,
            )
        return found

    def next_due(self, bot: str) -> datetime | None:
        """When the earliest waiting retry or re-check of ``bot`` is due (None: none wait)."""
        waiting = or_(
            items.c.state == ItemState.PENDING.value,
            (items.c.state == ItemState.IN_FLIGHT.value) & items.c.owner_run.is_(None),
        )
        with self._engine.connect() as conn:
            value: datetime | None = conn.execute(
                select(func.min(items.c.not_before)).where(items.c.bot == bot, waiting)
            ).scalar()
        return value if value is None else aware(value)

    def adopt_orphans(
        self,
        bot: str,
        run_id: str,
        *,
        audit: Callable[[ItemRecord, Claim | None], object] | None = None,
        keep: Collection[int] = (),
    ) -> list[Claim]:
        """Take over items held by runs that are no longer alive.

        CLAIMED orphans go back to PENDING (the target was never touched). IN_FLIGHT orphans
        are claimed by ``run_id`` for a ``find_existing`` check; they are returned. ``audit``
        gets each orphan (and its new claim, None if released) inside the transaction.
        Items in ``keep`` (ids: ``run_id``'s own items waiting in an app for its save) are
        never taken.

        Every RUNNING run but ``run_id`` is alive, read in this transaction *after* the held
        items. A set read before the transaction would be stale: a run started since could
        claim an item and look like a dead owner (two runs of one bot started together took
        each other's items that way).
        """
        now = utcnow()
        held = (ItemState.CLAIMED.value, ItemState.IN_FLIGHT.value)
        adopted: list[Claim] = []
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(items).where(items.c.bot == bot, items.c.state.in_(held))
            ).all()
            # read after the items: an owner seen above was RUNNING before its claim
            running = select(runs.c.id).where(runs.c.status == RunStatus.RUNNING.value)
            live_runs = set(conn.execute(running).scalars()) - {run_id}
            for row in rows:
                if row.owner_run is not None and row.owner_run in live_runs:
                    continue
                if row.id in keep and row.owner_run == run_id:
                    continue
                parked = row.owner_run is None and row.not_before is not None
                if parked and aware(row.not_before) > now:
                    continue
                back_to_pending = row.state == ItemState.CLAIMED.value
                values: dict[str, Any] = {
                    "fence": row.fence + 1,
                    "updated_at": now,
                    "owner_run": None if back_to_pending else run_id,
                    "last_run": run_id,
                }
                if back_to_pending:
                    values["state"] = ItemState.PENDING.value
                result = conn.execute(
                    update(items)
                    .where(
                        items.c.id == row.id,
                        items.c.fence == row.fence,
                        items.c.state == row.state,
                    )
                    .values(**values)
                )
                if result.rowcount != 1:
                    continue
                claim = None
                if not back_to_pending:
                    claim = Claim(row.id, run_id, row.fence + 1, row.attempt, ItemState.IN_FLIGHT)
                    adopted.append(claim)
                if audit is not None:
                    txn.record_in(conn, audit, self._to_item(row, unseal=False), claim)
        return adopted

    # -- fenced transitions --------------------------------------------------------------
    def mark_in_flight(
        self, claim: Claim, *, lease: RunLease | None = None, audit: Audit | None = None
    ) -> Claim:
        """Record the intent to change the target; must commit before the change is made.

        With ``lease``, the run proves it in the same transaction first.
        """
        return self.mark_many_in_flight([claim], lease=lease, audit=audit)[0]

    def mark_many_in_flight(
        self, claims: Sequence[Claim], *, lease: RunLease | None = None, audit: Audit | None = None
    ) -> list[Claim]:
        """The intents of several claimed items in one transaction (``audit`` writes their
        records as one group inside it): all or none; each must commit before its change."""
        self.apply([Move.intent(claim) for claim in claims], lease=lease, audit=audit)
        return [
            Claim(claim.item_id, claim.run_id, claim.fence, claim.attempt, ItemState.IN_FLIGHT)
            for claim in claims
        ]

    def finish(
        self,
        claim: Claim,
        state: ItemState,
        *,
        reference: str | None = None,
        error: str | None = None,
        audit: Audit | None = None,
    ) -> None:
        self.apply([Move.finish(claim, state, reference=reference, error=error)], audit=audit)

    def release(
        self,
        claim: Claim,
        *,
        not_before: datetime | None,
        error: str | None,
        audit: Audit | None = None,
    ) -> None:
        """Back to PENDING for another try (only once the target is known untouched)."""
        self.apply([Move.release(claim, not_before=not_before, error=error)], audit=audit)

    def park(
        self,
        claim: Claim,
        *,
        not_before: datetime,
        error: str | None,
        audit: Audit | None = None,
    ) -> None:
        """Leave an IN_FLIGHT item for a later ``find_existing`` check (target unreachable)."""
        self.apply([Move.park(claim, not_before=not_before, error=error)], audit=audit)

    def apply(
        self, moves: Sequence[Move], *, lease: RunLease | None = None, audit: Audit | None = None
    ) -> None:
        """Several fenced moves in one transaction, all or none (a batch's outcomes).

        ``audit`` writes every move's record inside it; if any item is no longer held by
        its claim, nothing changes and :class:`LeaseLostError` says which. Moves that set
        the same values (a batch's intents, its DONE items without a reference) are one
        ``UPDATE ... WHERE id IN (...)``; the others one executemany per kind.
        """
        if not moves:
            return
        now = utcnow()
        alike: dict[Hashable, list[Move]] = {}
        for move in moves:
            alike.setdefault(move.alike(), []).append(move)
        kinds: dict[Hashable, list[Move]] = {}
        with self._engine.begin() as conn:
            if lease is not None:
                lease.prove(conn)
            for same in alike.values():
                if len(same) == 1:
                    kinds.setdefault(same[0].kind(), []).append(same[0])
                    continue
                for start in range(0, len(same), _ALIKE_CHUNK):
                    _apply_alike(conn, same[start : start + _ALIKE_CHUNK], now)
            for same in kinds.values():
                _apply_each(conn, same, now)
            if audit is not None:
                txn.record_in(conn, audit)

    # -- operator actions ------------------------------------------------------------------
    def operator_move(
        self,
        item_id: int,
        *,
        allowed_from: Sequence[ItemState],
        to: ItemState,
        resolution: str,
        reference: str | None = None,
        audit: Callable[[ItemRecord], object] | None = None,
    ) -> ItemRecord:
        """Retry / resolve by a person: only from ``allowed_from``; bumps the fence.

        ``audit`` gets the item as it was, inside the transaction: no record, no change.
        """
        with self._engine.begin() as conn:
            row = conn.execute(select(items).where(items.c.id == item_id)).first()
            if row is None:
                raise LedgerError(f"no item {item_id} in the ledger; see `borough items list`")
            current = self._to_item(row, unseal=False)
            if current.state not in allowed_from:
                allowed = ", ".join(s.value.upper() for s in allowed_from)
                raise LedgerError(
                    f"item {item_id} is {current.state.value.upper()}; this action needs it "
                    f"to be {allowed}"
                )
            values: dict[str, Any] = {
                "state": to.value,
                "fence": current.fence + 1,
                "owner_run": None,
                "resolution": resolution,
                "updated_at": utcnow(),
            }
            if to is ItemState.PENDING:
                values.update(attempt=0, not_before=None)
            if reference is not None:
                values["reference"] = reference
            result = conn.execute(
                update(items)
                .where(items.c.id == item_id, items.c.fence == current.fence)
                .values(**values)
            )
            if result.rowcount != 1:
                raise LedgerError(f"item {item_id} changed while you acted on it; look again")
            if audit is not None:
                txn.record_in(conn, audit, current)
        return self.get(item_id)


#: the columns of an item its worker needs (ItemQueue.claimed)
_WORK_COLUMNS = (
    items.c.id,
    items.c.key_token,
    items.c.subjects,
    items.c.data_categories,
    items.c.source,
    items.c.payload,
)

#: items per ``UPDATE ... WHERE id IN``: well below the smallest limit of bound parameters
#: SQLite was built with (999)
_ALIKE_CHUNK = 400


def _apply_alike(conn: Connection, same: Sequence[Move], now: datetime) -> None:
    """Moves of one run's items to the same state with the same values: one statement,
    by primary key on every store; the fences it returns must be the claims' or nothing
    of the transaction stays."""
    first = same[0]
    fences = {move.claim.item_id: move.claim.fence for move in same}
    changed = conn.execute(
        update(items)
        .where(
            items.c.id.in_(list(fences)),
            items.c.owner_run == first.claim.run_id,
            items.c.state.in_([state.value for state in first.expect]),
        )
        .values(state=first.state.value, updated_at=now, **first.values)
        .returning(items.c.id, items.c.fence)
    ).all()
    if len(changed) != len(same) or any(fences[row.id] != row.fence for row in changed):
        raise lost([move.claim for move in same])


def _apply_each(conn: Connection, same: Sequence[Move], now: datetime) -> None:
    """Moves of one kind with values of their own: one executemany."""
    first = same[0]
    names = {name: f"m_{name}" for name in first.values}
    stmt = (
        update(items)
        .where(
            items.c.id == bindparam("m_id"),
            items.c.fence == bindparam("m_fence"),
            items.c.owner_run == bindparam("m_run"),
            or_(*(items.c.state == s.value for s in first.expect)),  # executemany
        )
        .values(
            state=first.state.value,
            updated_at=now,
            **{name: bindparam(bound) for name, bound in names.items()},
        )
    )
    rows = [
        {
            "m_id": move.claim.item_id,
            "m_fence": move.claim.fence,
            "m_run": move.claim.run_id,
            **{names[name]: value for name, value in move.values.items()},
        }
        for move in same
    ]
    result = conn.execute(stmt, rows if len(rows) > 1 else rows[0])
    if result.rowcount != len(rows):
        raise lost([move.claim for move in same])
