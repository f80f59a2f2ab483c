"""Four-eyes approvals: a manual override waits until a second operator approves it."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, select, update

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
        with self._engine.begin() as conn:
            waiting = conn.execute(
                select(approvals.c.id).where(
                    approvals.c.item_id == item.id,
                    approvals.c.status == ApprovalStatus.PENDING.value,
                )
            ).first()
            if waiting is not None:
                raise DashboardError(
                    f"item {item.id} already has a change waiting for approval "
                    f"(request {waiting.id})"
                )
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
                )
                .returning(approvals.c.id)
            ).scalar_one()
        return self.get(new_id)

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

    def history(self, item_id: int) -> list[Approval]:
        query = select(approvals).where(approvals.c.item_id == item_id).order_by(approvals.c.id)
        with self._engine.connect() as conn:
            return [_to_approval(row) for row in conn.execute(query)]

    def decide(
        self, approval_id: int, status: ApprovalStatus, *, by: str, note: str | None = None
    ) -> Approval:
        """Close a pending request; only one decision can ever win."""
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
    )
