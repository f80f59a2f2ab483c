"""Four-eyes approvals: a manual override waits until a second operator approves it."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Row, and_, or_, select, update

from borough.dashboard.store.tables import approvals
from borough.errors import DashboardError
from borough.ledger import ItemRecord, ItemState


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"  #: waiting for a second operator
    APPROVED = "approved"  #: approved and applied to the ledger
    REJECTED = "rejected"  #: a second operator said no
    CANCELLED = "cancelled"  #: withdrawn by the operator who asked
    VOID = "void"  #: the item changed before anyone decided


@dataclass(frozen=True)
class Approval:
    id: int
    item_id: int
    item_fence: int
    from_state: ItemState
    to_state: ItemState
    reason: str
    reference: str | None
    requested_by: str
    requested_at: datetime
    status: ApprovalStatus
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    batch_id: int  #: requests made together (one bulk action) share it

    @property
    def retry(self) -> bool:
        """A held retry (FAILED back to PENDING), as bulk retry asks under four-eyes."""
        return self.from_state is ItemState.FAILED and self.to_state is ItemState.PENDING


class ApprovalStore:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock

    def request(
        self,
        item: ItemRecord,
        to_state: ItemState,
        *,
        reason: str,
        reference: str | None,
        by: str,
    ) -> Approval:
        """Record a wish to move ``item``; one pending request per item at a time."""
        return self.request_many([(item, to_state)], reason=reason, reference=reference, by=by)[0]

    def request_many(
        self,
        wanted: list[tuple[ItemRecord, ItemState]],
        *,
        reason: str,
        reference: str | None,
        by: str,
        audit: Callable[[list[Approval]], object] | None = None,
    ) -> list[Approval]:
        """Requests for several items at once, decided together (one batch), or none at all
        if any of the items already has a change waiting.

        ``audit`` gets the requests inside the transaction: no record, no request.
        """
        ids: list[int] = []
        with self._engine.begin() as conn:
            waiting = conn.execute(
                select(approvals.c.id, approvals.c.item_id).where(
                    approvals.c.item_id.in_([item.id for item, _ in wanted]),
                    approvals.c.status == ApprovalStatus.PENDING.value,
                )
            ).first()
            if waiting is not None:
                raise DashboardError(
                    f"item {waiting.item_id} already has a change waiting for approval "
                    f"(request {waiting.id})"
                )
            for item, to_state in wanted:
                new_id = conn.execute(
                    approvals.insert()
                    .values(
                        item_id=item.id,
                        item_fence=item.fence,
                        from_state=item.state.value,
                        to_state=to_state.value,
                        reason=reason,
                        reference=reference,
                        requested_by=by,
                        requested_at=self._clock(),
                        status=ApprovalStatus.PENDING.value,
                        batch_id=ids[0] if ids else None,
                    )
                    .returning(approvals.c.id)
                ).scalar_one()
                ids.append(new_id)
            conn.execute(update(approvals).where(approvals.c.id == ids[0]).values(batch_id=ids[0]))
            if audit is not None:
                rows = conn.execute(
                    select(approvals).where(approvals.c.id.in_(ids)).order_by(approvals.c.id)
                )
                audit([_to_approval(row) for row in rows])
        return [self.get(i) for i in ids]

    def batch(self, batch_id: int) -> list[Approval]:
        """The requests made together with request ``batch_id`` (the batch's first)."""
        query = select(approvals).where(_batch_of(batch_id)).order_by(approvals.c.id)
        with self._engine.connect() as conn:
            found = [_to_approval(row) for row in conn.execute(query)]
        if not found:
            raise DashboardError(f"no approval request {batch_id}")
        return found

    def pending_batches(self) -> list[list[Approval]]:
        """Pending requests grouped by batch, oldest first."""
        grouped: dict[int, list[Approval]] = {}
        for approval in self.pending():
            grouped.setdefault(approval.batch_id, []).append(approval)
        return list(grouped.values())

    def get(self, approval_id: int) -> Approval:
        with self._engine.connect() as conn:
            row = conn.execute(select(approvals).where(approvals.c.id == approval_id)).first()
        if row is None:
            raise DashboardError(f"no approval request {approval_id}")
        return _to_approval(row)

    def pending(self, *, item_id: int | None = None) -> list[Approval]:
        query = (
            select(approvals)
            .where(approvals.c.status == ApprovalStatus.PENDING.value)
            .order_by(approvals.c.requested_at)
        )
        if item_id is not None:
            query = query.where(approvals.c.item_id == item_id)
        with self._engine.connect() as conn:
            return [_to_approval(row) for row in conn.execute(query)]

    def decided(self, *, limit: int = 50) -> list[list[Approval]]:
        """The latest decided requests, by batch, most recently decided first."""
        query = (
            select(approvals)
            .where(approvals.c.status != ApprovalStatus.PENDING.value)
            .order_by(approvals.c.decided_at.desc(), approvals.c.id.desc())
            .limit(limit * 20)
        )
        grouped: dict[int, list[Approval]] = {}
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                approval = _to_approval(row)
                if approval.batch_id in grouped or len(grouped) < limit:
                    grouped.setdefault(approval.batch_id, []).append(approval)
        return list(grouped.values())

    def history(self, item_id: int) -> list[Approval]:
        query = select(approvals).where(approvals.c.item_id == item_id).order_by(approvals.c.id)
        with self._engine.connect() as conn:
            return [_to_approval(row) for row in conn.execute(query)]

    def decide(
        self,
        approval_id: int,
        status: ApprovalStatus,
        *,
        by: str,
        note: str | None = None,
        audit: Callable[[], object] | None = None,
    ) -> Approval:
        """Close a pending request; only one decision can ever win.

        ``audit`` is called inside the transaction once this decision has won: no record,
        no decision.
        """
        current = self.get(approval_id)
        if status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED):
            if current.requested_by == by:
                raise DashboardError(
                    "you asked for this change: a different operator must approve or reject it"
                )
        elif status is ApprovalStatus.CANCELLED and current.requested_by != by:
            raise DashboardError("only the operator who asked can withdraw a request")
        with self._engine.begin() as conn:
            result = conn.execute(
                update(approvals)
                .where(
                    approvals.c.id == approval_id,
                    approvals.c.status == ApprovalStatus.PENDING.value,
                )
                .values(status=status.value, decided_by=by, decided_at=self._clock(), note=note)
            )
            if result.rowcount != 1:
                raise DashboardError(
                    f"request {approval_id} is already {current.status.value}; nothing changed"
                )
            if audit is not None:
                audit()
        return self.get(approval_id)


def _to_approval(row: Row[Any]) -> Approval:
    return Approval(
        id=row.id,
        item_id=row.item_id,
        item_fence=row.item_fence,
        from_state=ItemState(row.from_state),
        to_state=ItemState(row.to_state),
        reason=row.reason,
        reference=row.reference,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        status=ApprovalStatus(row.status),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
        batch_id=row.batch_id if row.batch_id is not None else row.id,
    )


def _batch_of(batch_id: int) -> ColumnElement[bool]:
    """Rows of a batch; a request stored before batches existed is a batch of its own."""
    return or_(
        approvals.c.batch_id == batch_id,
        and_(approvals.c.batch_id.is_(None), approvals.c.id == batch_id),
    )
