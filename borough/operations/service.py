"""What an operator can do to one item — retry, resolve, mark done — and the four-eyes
approvals of those changes, the same from ``borough items`` and from the dashboard.

Retry (FAILED -> PENDING) acts at once. Overrides — resolving a NEEDS_REVIEW item, or
marking a FAILED item done — act at once too, unless ``dashboard.four_eyes`` is on: then
they wait as a request until a different operator approves it, whichever way either of
them works. Only ``break_glass`` (the CLI's ``--break-glass``) applies an override at
once under four-eyes, and it is recorded as such first.

Every change is write-ahead: its audit record is written (and flushed) inside the
ledger transaction that makes it, so a change is never without its record and a record
that cannot be written leaves everything as it was. The operator's reason and note are
kept on one line, redacted and cut to 1,000 characters, before they reach either.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from borough.audit.trail import AuditTrail
from borough.dashboard.store import Approval, ApprovalStatus, ApprovalStore, ensure_schema
from borough.errors import OperationError
from borough.ledger import ItemRecord, ItemState
from borough.ledger.runs import utcnow

if TYPE_CHECKING:
    from borough.runtime import Runtime

#: Where an override may take an item, by the state it is in.
OVERRIDES: Mapping[ItemState, tuple[ItemState, ...]] = {
    ItemState.NEEDS_REVIEW: (
        ItemState.DONE,
        ItemState.FAILED,
        ItemState.SKIPPED,
        ItemState.PENDING,
    ),
    ItemState.FAILED: (ItemState.DONE,),
}
TEXT_LIMIT = 1000


@dataclass(frozen=True)
class Operator:
    """Who acts: a dashboard account or the login at the command line (same names)."""

    name: str

    @property
    def actor(self) -> str:
        return f"user:{self.name}"

    @classmethod
    def at_keyboard(cls) -> Operator:
        try:
            return cls(getpass.getuser())
        except (KeyError, OSError):
            return cls("unknown")


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
                f"waits for another operator's approval (request {self.approval.batch_id})"
            )
        return f"Item {self.item.id} is now {self.item.state.value.upper()}"


class Operations:
    """The one implementation of operator actions over a runtime's ledger and trail."""

    def __init__(self, runtime: Runtime, approvals: ApprovalStore, *, four_eyes: bool) -> None:
        self.runtime = runtime
        self.approvals = approvals
        self.four_eyes = four_eyes

    @classmethod
    def open(cls, runtime: Runtime) -> Operations:
        """For the command line: the approvals kept beside the ledger (the dashboard's), and
        the four-eyes rule of ``dashboard.four_eyes``."""
        ensure_schema(runtime.ledger.engine)
        return cls(
            runtime,
            ApprovalStore(runtime.ledger.engine, utcnow),
            four_eyes=runtime.config.settings.dashboard.four_eyes,
        )

    def trail(self, who: Operator) -> AuditTrail:
        return self.runtime.trail.bind(actor=who.actor)

    # -- text -----------------------------------------------------------------------------
    def reason(self, text: str) -> str:
        """The reason as kept: one line, redacted, at most 1,000 characters; never empty."""
        kept = " ".join(text.split())
        if not kept:
            raise OperationError("say why: the reason is kept in the ledger and the audit trail")
        return self.runtime.redactor.redact(kept)[:TEXT_LIMIT]

    def note(self, text: str) -> str | None:
        return self.runtime.redactor.redact(" ".join(text.split()))[:TEXT_LIMIT] or None

    @staticmethod
    def reference(text: str | None) -> str | None:
        """The target system's reference, as a bot's would be kept (not redacted)."""
        return (text or "").strip()[:200] or None

    # -- one item -------------------------------------------------------------------------
    def retry(self, who: Operator, item_id: int, reason: str) -> Outcome:
        """FAILED -> PENDING; the next run of its bot works it again."""
        why = self.reason(reason or "retry requested")
        return Outcome(self.retry_move(who, item_id, why, approval=None))

    def retry_move(
        self, who: Operator, item_id: int, why: str, *, approval: Approval | None
    ) -> ItemRecord:
        """Retry with ``why`` already kept (a bulk action's, or an approved request's)."""
        by, detail = who.actor, {"reason": why, "ledger_id": item_id}
        if approval is not None:
            by = f"user:{approval.requested_by}, approved by {who.actor}"
            detail.update(approval_id=approval.id, requested_by=f"user:{approval.requested_by}")
        trail = self.trail(who)
        return self.runtime.ledger.items.operator_move(
            item_id,
            allowed_from=[ItemState.FAILED],
            to=ItemState.PENDING,
            resolution=f"retry by {by}: {why}",
            audit=lambda was: trail.emit(
                "item.retry_requested", item=was.key_token, outcome="pending", detail=detail
            ),
        )

    def override(
        self,
        who: Operator,
        item_id: int,
        to: ItemState,
        *,
        reason: str,
        reference: str | None = None,
        break_glass: bool = False,
    ) -> Outcome:
        """Resolve or mark done; with four-eyes on, only ask for it (unless break-glass)."""
        why = self.reason(reason)
        kept_reference = self.reference(reference)
        item = self.runtime.ledger.items.get(item_id)
        check_override(item, to, kept_reference)
        if self.four_eyes and not break_glass:
            return Outcome(item, self._request(who, item, to, why, kept_reference))
        if break_glass and self.four_eyes:
            self.trail(who).emit(
                "operator.break_glass",
                item=item.key_token,
                outcome="pending",
                detail={"to": to.value, "reason": why, "ledger_id": item.id, "four_eyes": True},
            )
        moved = self.apply(
            who, item, to, why=why, reference=kept_reference, approval=None,
            break_glass=break_glass and self.four_eyes,
        )  # fmt: skip
        return Outcome(moved)

    def _request(
        self, who: Operator, item: ItemRecord, to: ItemState, why: str, reference: str | None
    ) -> Approval:
        trail = self.trail(who)

        def record(made: list[Approval]) -> None:
            trail.emit(
                "item.override_requested",
                item=item.key_token,
                outcome="pending",
                detail={
                    "to": to.value,
                    "reason": why,
                    "reference": reference,
                    "ledger_id": item.id,
                    "approval_id": made[0].id,
                },
            )

        return self.approvals.request_many(
            [(item, to)], reason=why, reference=reference, by=who.name, audit=record
        )[0]

    def apply(
        self,
        who: Operator,
        item: ItemRecord,
        to: ItemState,
        *,
        why: str,
        reference: str | None,
        approval: Approval | None,
        break_glass: bool = False,
    ) -> ItemRecord:
        """Move ``item`` as an override (``why`` and ``reference`` already kept)."""
        how = "marked" if item.state is ItemState.FAILED else "resolved"
        by = who.actor
        detail: dict[str, Any] = {
            "reason": why,
            "reference": reference,
            "ledger_id": item.id,
            "from": item.state.value,
        }
        if approval is not None:
            by = f"user:{approval.requested_by}, approved by {who.actor}"
            detail.update(approval_id=approval.id, requested_by=f"user:{approval.requested_by}")
        if break_glass:
            by += " (break-glass)"
            detail["break_glass"] = True
        trail = self.trail(who)
        return self.runtime.ledger.items.operator_move(
            item.id,
            allowed_from=[item.state],
            to=to,
            resolution=f"{how} as {to.value} by {by}: {why}",
            reference=reference,
            audit=lambda was: trail.emit(
                "item.resolved", item=was.key_token, outcome=to.value, detail=detail
            ),
        )

    # -- approvals ------------------------------------------------------------------------
    def decide(self, who: Operator, request: Approval, approve: bool, note: str | None) -> Outcome:
        """One request decided: applied, rejected, or void if the item moved meanwhile
        (``outcome.approval.status`` says which). ``note`` is already kept."""
        if request.status is not ApprovalStatus.PENDING:
            raise OperationError(f"request {request.id} is already {request.status.value}")
        if request.requested_by == who.name:
            raise OperationError(
                "you asked for this change: a different operator must approve or reject it"
            )
        item = self.runtime.ledger.items.get(request.item_id)
        trail = self.trail(who)
        if not approve:
            decided = self.approvals.decide(
                request.id,
                ApprovalStatus.REJECTED,
                by=who.name,
                note=note,
                audit=lambda: trail.emit(
                    "item.override_rejected",
                    item=item.key_token,
                    outcome="rejected",
                    detail={
                        "approval_id": request.id,
                        "requested_by": f"user:{request.requested_by}",
                        "note": note,
                    },
                ),
            )
            return Outcome(item, decided)
        if item.fence != request.item_fence or item.state is not request.from_state:
            void = self.approvals.decide(
                request.id,
                ApprovalStatus.VOID,
                by=who.name,
                note="item changed",
                audit=lambda: trail.emit(
                    "item.override_void",
                    item=item.key_token,
                    outcome="void",
                    detail={"approval_id": request.id, "now": item.state.value},
                ),
            )
            return Outcome(item, void)
        decided = self.approvals.decide(request.id, ApprovalStatus.APPROVED, by=who.name, note=note)
        if decided.retry:
            moved = self.retry_move(who, item.id, request.reason, approval=decided)
        else:
            moved = self.apply(
                who,
                item,
                request.to_state,
                why=request.reason,
                reference=request.reference,
                approval=decided,
            )
        return Outcome(moved, decided)

    def cancel(self, who: Operator, approval_id: int) -> Approval:
        """The operator who asked withdraws a request still waiting."""
        request = self.approvals.get(approval_id)
        item = self.runtime.ledger.items.get(request.item_id)
        trail = self.trail(who)
        return self.approvals.decide(
            approval_id,
            ApprovalStatus.CANCELLED,
            by=who.name,
            audit=lambda: trail.emit(
                "item.override_cancelled",
                item=item.key_token,
                outcome="cancelled",
                detail={"approval_id": approval_id},
            ),
        )


def check_override(item: ItemRecord, to: ItemState, reference: str | None) -> None:
    """Refuse a move an override does not allow, or DONE without the target's reference."""
    allowed = OVERRIDES.get(item.state, ())
    if to not in allowed:
        raise OperationError(
            f"item {item.id} is {item.state.value.upper()}; it cannot be set to "
            f"{to.value.upper()} by an operator"
        )
    if to is ItemState.DONE and not reference:
        raise OperationError(
            "give the target system's reference: an item is done only when the target holds "
            "it, and the reference is how anyone can check"
        )
