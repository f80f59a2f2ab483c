"""Acting on many items with one reason: bulk retry and bulk resolve, four-eyes aware.

Each item goes through the same one-item actions as a single action (``service.py``).
An item in a state the action does not fit is left alone and reported, not refused as a
whole. With four-eyes on, the whole selection becomes one batch of requests that a
second operator approves or rejects together; each item is then applied on its own, and
one that moved meanwhile is void without stopping the rest.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from borough.dashboard.store import Approval, ApprovalStatus
from borough.errors import BoroughError, OperationError
from borough.ledger import ItemRecord, ItemState
from borough.operations.service import Operations, Operator, Outcome

#: At most this many items in one bulk action (one page of the item list).
MAX_ITEMS = 100


class Action(enum.StrEnum):
    RETRY = "retry"  #: FAILED -> PENDING
    RESOLVE = "resolve"  #: NEEDS_REVIEW -> SKIPPED, FAILED or PENDING (never DONE in bulk)

    @property
    def fits(self) -> ItemState:
        """The state an item must be in for this action."""
        return ItemState.FAILED if self is Action.RETRY else ItemState.NEEDS_REVIEW


#: What bulk resolve may set: DONE needs each item's own reference, so it is done one by one.
BULK_RESOLVE = (ItemState.SKIPPED, ItemState.FAILED, ItemState.PENDING)


@dataclass
class BulkResult:
    """What a bulk action did, item by item."""

    moved: list[ItemRecord] = field(default_factory=list)
    left: list[tuple[int, str]] = field(default_factory=list)  #: (item id, why not)
    requested: list[Approval] = field(default_factory=list)  #: waiting for a second operator

    @property
    def batch_id(self) -> int | None:
        return self.requested[0].batch_id if self.requested else None


def select(
    ops: Operations, ids: list[int], action: Action
) -> tuple[list[ItemRecord], list[tuple[int, str]]]:
    """The items of ``ids`` the action fits, and the others with the reason."""
    if not ids:
        raise OperationError("select at least one item")
    if len(ids) > MAX_ITEMS:
        raise OperationError(f"select at most {MAX_ITEMS} items at a time")
    fit, left = [], []
    for item_id in dict.fromkeys(ids):
        try:
            item = ops.runtime.ledger.items.get(item_id)
        except BoroughError:
            left.append((item_id, "no such item"))
            continue
        if item.state is action.fits:
            fit.append(item)
        else:
            left.append(
                (item_id, f"it is {item.state.value.upper()}, not {action.fits.value.upper()}")
            )
    return fit, left


def run(
    ops: Operations,
    who: Operator,
    ids: list[int],
    action: Action,
    *,
    reason: str,
    to: ItemState = ItemState.PENDING,
) -> BulkResult:
    """Retry or resolve the items of ``ids`` (those it fits) with one reason."""
    why = ops.reason(reason)
    if action is Action.RESOLVE and to not in BULK_RESOLVE:
        raise OperationError(
            "a bulk resolve can make items SKIPPED, FAILED or PENDING; mark items done one "
            "at a time, each with the target's reference"
        )
    target = ItemState.PENDING if action is Action.RETRY else to
    items, left = select(ops, ids, action)
    result = BulkResult(left=left)
    if not items:
        return result
    if ops.four_eyes:
        trail = ops.trail(who)

        def record(made: list[Approval]) -> None:
            trail.emit(
                "item.bulk_requested",
                outcome="pending",
                detail={
                    "action": action.value,
                    "to": target.value,
                    "reason": why,
                    "ledger_ids": [item.id for item in items],
                    "batch_id": made[0].batch_id,
                },
            )

        wanted = [(item, target) for item in items]
        result.requested = ops.approvals.request_many(
            wanted, reason=why, reference=None, by=who.name, audit=record
        )
        return result
    for item in items:
        try:
            if action is Action.RETRY:
                moved = ops.retry_move(who, item.id, why, approval=None)
            else:
                moved = ops.override(who, item.id, target, reason=why).item
        except BoroughError as exc:  # it moved since it was listed: tell, go on
            result.left.append((item.id, str(exc)))
        else:
            result.moved.append(moved)
    return result


@dataclass
class BatchDecision:
    batch_id: int
    approved: bool
    outcomes: list[Outcome] = field(default_factory=list)

    def _items(self, status: ApprovalStatus) -> list[ItemRecord]:
        return [o.item for o in self.outcomes if o.approval and o.approval.status is status]

    @property
    def applied(self) -> list[ItemRecord]:
        return self._items(ApprovalStatus.APPROVED)

    @property
    def void(self) -> list[ItemRecord]:
        return self._items(ApprovalStatus.VOID)

    @property
    def message(self) -> str:
        if not self.approved:
            count = len(self.outcomes)
            return f"Rejected: the {count} item(s) of request {self.batch_id} are unchanged"
        text = f"Approved: {len(self.applied)} item(s) changed"
        states = sorted({item.state.value.upper() for item in self.applied})
        if states:
            text += f" (now {', '.join(states)})"
        if self.void:
            ids = ", ".join(str(item.id) for item in self.void)
            text += (
                f"; {len(self.void)} had changed since the request and were left alone (item {ids})"
            )
        return text


def decide_batch(
    ops: Operations, who: Operator, batch_id: int, approve: bool, note: str = ""
) -> BatchDecision:
    """A second operator approves or rejects every pending request of a batch (a single
    item's request is a batch of one)."""
    pending = [a for a in ops.approvals.batch(batch_id) if a.status is ApprovalStatus.PENDING]
    if not pending:
        raise OperationError(f"request {batch_id} has nothing waiting: it was already decided")
    kept = ops.note(note)
    decision = BatchDecision(batch_id, approve)
    for request in pending:
        decision.outcomes.append(ops.decide(who, request, approve, kept))
    return decision


def cancel_batch(ops: Operations, who: Operator, batch_id: int) -> int:
    """The operator who asked withdraws what of the batch is still waiting."""
    pending = [a for a in ops.approvals.batch(batch_id) if a.status is ApprovalStatus.PENDING]
    for request in pending:
        ops.cancel(who, request.id)
    return len(pending)
