"""What an operator can do to an item from the dashboard, each recorded in the audit trail.

Retry (FAILED -> PENDING) acts at once. Overrides — resolving a NEEDS_REVIEW item, or
marking a FAILED item done by hand — act at once too, unless four-eyes is on: then they
wait as an approval request until a different operator approves them.
The audit actions match the CLI's (``item.retry_requested``, ``item.resolved``).
"""

from __future__ import annotations

from dataclasses import dataclass

from borough.dashboard.state import Dashboard
from borough.dashboard.store import Approval, ApprovalStatus, User
from borough.errors import DashboardError
from borough.ledger import ItemRecord, ItemState

#: Where an override may take an item, by the state it is in.
OVERRIDES: dict[ItemState, tuple[ItemState, ...]] = {
    ItemState.NEEDS_REVIEW: (
        ItemState.DONE,
        ItemState.FAILED,
        ItemState.SKIPPED,
        ItemState.PENDING,
    ),
    ItemState.FAILED: (ItemState.DONE,),
}


@dataclass(frozen=True)
class Outcome:
    """What happened: the item moved (``item``) or a request now waits (``approval``)."""

    item: ItemRecord
    approval: Approval | None = None

    @property
    def message(self) -> str:
        if self.approval is not None:
            return (
                f"Item {self.item.id}: your change to {self.approval.to_state.value.upper()} "
                f"waits for another operator's approval"
            )
        return f"Item {self.item.id} is now {self.item.state.value.upper()}"


def _reason(dash: Dashboard, reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise DashboardError("say why: the reason is kept in the ledger and the audit trail")
    return dash.runtime.redactor.redact(text)[:1000]


def retry(dash: Dashboard, user: User, item_id: int, reason: str) -> Outcome:
    """FAILED -> PENDING; the next run of its bot works it again."""
    why = _reason(dash, reason or "retry requested")
    item = dash.runtime.ledger.items.operator_move(
        item_id,
        allowed_from=[ItemState.FAILED],
        to=ItemState.PENDING,
        resolution=f"retry by {user.actor}: {why}",
        audit=lambda was: dash.trail(user).emit(
            "item.retry_requested",
            item=was.key_token,
            outcome="pending",
            detail={"reason": why, "ledger_id": item_id, "via": "dashboard"},
        ),
    )
    return Outcome(item)


def override(
    dash: Dashboard,
    user: User,
    item_id: int,
    to: ItemState,
    *,
    reason: str,
    reference: str | None = None,
) -> Outcome:
    """Resolve or mark done; with four-eyes on, only ask for it."""
    why = _reason(dash, reason)
    reference = (reference or "").strip() or None
    item = dash.runtime.ledger.items.get(item_id)
    allowed = OVERRIDES.get(item.state, ())
    if to not in allowed:
        raise DashboardError(
            f"item {item_id} is {item.state.value.upper()}; it cannot be set to "
            f"{to.value.upper()} from the dashboard"
        )
    if dash.settings.four_eyes:
        approval = dash.approvals.request(item, to, reason=why, reference=reference, by=user.name)
        dash.trail(user).emit(
            "item.override_requested",
            item=item.key_token,
            outcome="pending",
            detail={
                "to": to.value,
                "reason": why,
                "reference": reference,
                "ledger_id": item_id,
                "approval_id": approval.id,
            },
        )
        return Outcome(item, approval)
    moved = _apply(dash, user, item, to, why=why, reference=reference, approval=None)
    return Outcome(moved)


def decide(dash: Dashboard, user: User, approval_id: int, approve: bool, note: str = "") -> Outcome:
    """A second operator approves (the change is applied) or rejects a pending request."""
    request = dash.approvals.get(approval_id)
    if request.status is not ApprovalStatus.PENDING:
        raise DashboardError(f"request {approval_id} is already {request.status.value}")
    if request.requested_by == user.name:
        raise DashboardError(
            "you asked for this change: a different operator must approve or reject it"
        )
    item = dash.runtime.ledger.items.get(request.item_id)
    note_text = dash.runtime.redactor.redact(" ".join(note.split()))[:1000] or None
    if not approve:
        decided = dash.approvals.decide(
            approval_id, ApprovalStatus.REJECTED, by=user.name, note=note_text
        )
        dash.trail(user).emit(
            "item.override_rejected",
            item=item.key_token,
            outcome="rejected",
            detail={
                "approval_id": approval_id,
                "requested_by": f"user:{request.requested_by}",
                "note": note_text,
            },
        )
        return Outcome(item, decided)
    if item.fence != request.item_fence or item.state is not request.from_state:
        dash.approvals.decide(approval_id, ApprovalStatus.VOID, by=user.name, note="item changed")
        dash.trail(user).emit(
            "item.override_void",
            item=item.key_token,
            outcome="void",
            detail={"approval_id": approval_id, "now": item.state.value},
        )
        raise DashboardError(
            f"item {item.id} changed since the request (now {item.state.value.upper()}); "
            f"the request was withdrawn — look again and ask anew if still needed"
        )
    decided = dash.approvals.decide(
        approval_id, ApprovalStatus.APPROVED, by=user.name, note=note_text
    )
    moved = _apply(
        dash,
        user,
        item,
        request.to_state,
        why=request.reason,
        reference=request.reference,
        approval=decided,
    )
    return Outcome(moved, decided)


def cancel(dash: Dashboard, user: User, approval_id: int) -> Approval:
    request = dash.approvals.decide(approval_id, ApprovalStatus.CANCELLED, by=user.name)
    item = dash.runtime.ledger.items.get(request.item_id)
    dash.trail(user).emit(
        "item.override_cancelled",
        item=item.key_token,
        outcome="cancelled",
        detail={"approval_id": approval_id},
    )
    return request


def _apply(
    dash: Dashboard,
    user: User,
    item: ItemRecord,
    to: ItemState,
    *,
    why: str,
    reference: str | None,
    approval: Approval | None,
) -> ItemRecord:
    how = "marked" if item.state is ItemState.FAILED else "resolved"
    by = user.actor
    if approval is not None:
        by = f"user:{approval.requested_by}, approved by {user.actor}"
    detail: dict[str, object] = {
        "reason": why,
        "reference": reference,
        "ledger_id": item.id,
        "from": item.state.value,
        "via": "dashboard",
    }
    if approval is not None:
        detail.update(approval_id=approval.id, requested_by=f"user:{approval.requested_by}")
    return dash.runtime.ledger.items.operator_move(
        item.id,
        allowed_from=[item.state],
        to=to,
        resolution=f"{how} as {to.value} by {by}: {why}",
        reference=reference,
        audit=lambda was: dash.trail(user).emit(
            "item.resolved", item=was.key_token, outcome=to.value, detail=detail
        ),
    )
