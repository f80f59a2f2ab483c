"""What an operator can do to an item from the dashboard, each recorded in the audit trail.

Retry (FAILED -> PENDING) acts at once. Overrides — resolving a NEEDS_REVIEW item, or
marking a FAILED item done by hand — act at once too, unless four-eyes is on: then they
wait as an approval request until a different operator approves them. A held request
(one item's, or a bulk action's batch, see ``bulk.py``) may also be a retry.
The audit actions match the CLI's (``item.retry_requested``, ``item.resolved``).

Everything here takes plain values (no request or response), one item at a time, so the
CLI and the dashboard can share it.
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
    def waiting(self) -> bool:
        return self.approval is not None and self.approval.status is ApprovalStatus.PENDING

    @property
    def message(self) -> str:
        if self.approval is not None and self.waiting:
            return (
                f"Item {self.item.id}: your change to {self.approval.to_state.value.upper()} "
                f"waits for another operator's approval"
            )
        return f"Item {self.item.id} is now {self.item.state.value.upper()}"


def reason_text(dash: Dashboard, reason: str) -> str:
    """The reason as kept: one line, redacted, at most 1,000 characters; never empty."""
    text = " ".join(reason.split())
    if not text:
        raise DashboardError("say why: the reason is kept in the ledger and the audit trail")
    return dash.runtime.redactor.redact(text)[:1000]


def note_text(dash: Dashboard, note: str) -> str | None:
    return dash.runtime.redactor.redact(" ".join(note.split()))[:1000] or None


def retry(dash: Dashboard, user: User, item_id: int, reason: str) -> Outcome:
    """FAILED -> PENDING; the next run of its bot works it again."""
    why = reason_text(dash, reason or "retry requested")
    return Outcome(_retry_move(dash, user, item_id, why, approval=None))


def _retry_move(
    dash: Dashboard, user: User, item_id: int, why: str, *, approval: Approval | None
) -> ItemRecord:
    by = user.actor
    detail: dict[str, object] = {"reason": why, "ledger_id": item_id, "via": "dashboard"}
    if approval is not None:
        by = f"user:{approval.requested_by}, approved by {user.actor}"
        detail.update(approval_id=approval.id, requested_by=f"user:{approval.requested_by}")
    item = dash.runtime.ledger.items.operator_move(
        item_id,
        allowed_from=[ItemState.FAILED],
        to=ItemState.PENDING,
        resolution=f"retry by {by}: {why}",
    )
    dash.trail(user).emit(
        "item.retry_requested", item=item.key_token, outcome="pending", detail=detail
    )
    return item


def check_override(item: ItemRecord, to: ItemState, reference: str | None) -> None:
    """Refuse a move the dashboard does not allow, or DONE without the target's reference."""
    allowed = OVERRIDES.get(item.state, ())
    if to not in allowed:
        raise DashboardError(
            f"item {item.id} is {item.state.value.upper()}; it cannot be set to "
            f"{to.value.upper()} from the dashboard"
        )
    if to is ItemState.DONE and not reference:
        raise DashboardError(
            "give the target system's reference: an item is done only when the target holds "
            "it, and the reference is how anyone can check"
        )


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
    why = reason_text(dash, reason)
    reference = (reference or "").strip()[:200] or None
    item = dash.runtime.ledger.items.get(item_id)
    check_override(item, to, reference)
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
    outcome = decide_request(dash, user, request, approve, note_text(dash, note))
    if outcome.approval is not None and outcome.approval.status is ApprovalStatus.VOID:
        raise DashboardError(
            f"item {outcome.item.id} changed since the request (now "
            f"{outcome.item.state.value.upper()}); the request was withdrawn — look again "
            f"and ask anew if still needed"
        )
    return outcome


def decide_request(
    dash: Dashboard, user: User, request: Approval, approve: bool, note: str | None
) -> Outcome:
    """One request decided: applied, rejected, or void if the item moved meanwhile
    (``outcome.approval.status`` says which)."""
    if request.status is not ApprovalStatus.PENDING:
        raise DashboardError(f"request {request.id} is already {request.status.value}")
    if request.requested_by == user.name:
        raise DashboardError(
            "you asked for this change: a different operator must approve or reject it"
        )
    item = dash.runtime.ledger.items.get(request.item_id)
    if not approve:
        decided = dash.approvals.decide(
            request.id, ApprovalStatus.REJECTED, by=user.name, note=note
        )
        dash.trail(user).emit(
            "item.override_rejected",
            item=item.key_token,
            outcome="rejected",
            detail={
                "approval_id": request.id,
                "requested_by": f"user:{request.requested_by}",
                "note": note,
            },
        )
        return Outcome(item, decided)
    if item.fence != request.item_fence or item.state is not request.from_state:
        void = dash.approvals.decide(
            request.id, ApprovalStatus.VOID, by=user.name, note="item changed"
        )
        dash.trail(user).emit(
            "item.override_void",
            item=item.key_token,
            outcome="void",
            detail={"approval_id": request.id, "now": item.state.value},
        )
        return Outcome(item, void)
    decided = dash.approvals.decide(request.id, ApprovalStatus.APPROVED, by=user.name, note=note)
    if decided.retry:
        moved = _retry_move(dash, user, item.id, request.reason, approval=decided)
    else:
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
    moved = dash.runtime.ledger.items.operator_move(
        item.id,
        allowed_from=[item.state],
        to=to,
        resolution=f"{how} as {to.value} by {by}: {why}",
        reference=reference,
    )
    detail: dict[str, object] = {
        "reason": why,
        "reference": reference,
        "ledger_id": item.id,
        "from": item.state.value,
        "via": "dashboard",
    }
    if approval is not None:
        detail.update(approval_id=approval.id, requested_by=f"user:{approval.requested_by}")
    dash.trail(user).emit("item.resolved", item=moved.key_token, outcome=to.value, detail=detail)
    return moved
