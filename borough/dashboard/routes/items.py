"""One item: its history and evidence; retry, resolve and four-eyes approvals."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response

from borough.audit.browse import AuditView
from borough.dashboard.security import OPERATOR, OPERATOR_OR_AUDITOR, dashboard
from borough.dashboard.store import Role, Session
from borough.dashboard.web import flash, redirect, render
from borough.errors import BoroughError, LedgerError
from borough.ledger import ItemRecord, ItemState
from borough.operations import OVERRIDES, Operator, bulk, check_override

router = APIRouter()

LABELS = {
    ItemState.DONE: "Done: the target system holds it (give its reference)",
    ItemState.FAILED: "Failed: it cannot be done as it stands",
    ItemState.SKIPPED: "Skipped: there is nothing to do",
    ItemState.PENDING: "Retry: it is certainly not in the target system",
}


#: Ids beyond this are not in any ledger (and overflow SQLite's integers): 404, not 500.
MAX_ID = 2**63 - 1


def find_item(request: Request, item_id: int) -> ItemRecord:
    if not 0 < item_id <= MAX_ID:
        raise HTTPException(404)
    try:
        return dashboard(request).runtime.ledger.items.get(item_id)
    except LedgerError:
        raise HTTPException(404) from None


def evidence_check(logs: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """An evidence entry of the trail, with whether the file is there and unchanged."""
    relative = str(entry.get("path", ""))
    path = logs / relative
    present = path.is_file() and path.resolve().is_relative_to((logs / "evidence").resolve())
    matches = present and hashlib.sha256(path.read_bytes()).hexdigest() == entry.get("sha256")
    inner = relative.removeprefix("evidence/")
    return {
        "path": inner,
        "name": Path(relative).name,
        "kind": entry.get("kind", ""),
        "sha256": entry.get("sha256", ""),
        "present": present,
        "matches": matches,
        "image": Path(relative).suffix.lower() in (".png", ".jpg", ".jpeg", ".gif", ".webp"),
    }


def _item_page(
    request: Request,
    session: Session,
    item: ItemRecord,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    dash = dashboard(request)
    paths = dash.runtime.paths
    history = AuditView.of(dash.runtime).catch_up().history(item.key_token)
    evidence = [evidence_check(paths.logs, e) for r in history for e in r.get("evidence") or []]
    pending = dash.approvals.pending(item_id=item.id)
    decided = [
        [a] for a in reversed(dash.approvals.history(item.id)) if a.status.value != "pending"
    ]
    return render(
        request,
        session,
        "pages/item.html",
        status_code=400 if errors else 200,
        title=f"Item {item.id}",
        error_title=bool(errors),
        errors=errors or {},
        form=form or {},
        item=item,
        history=history,
        evidence=evidence,
        batches=[dash.approvals.batch(a.batch_id) for a in pending],
        decided=decided,
        history_caption="Approval requests",
        can_act=session.user.has(Role.OPERATOR),
        overrides=[(s, LABELS[s]) for s in OVERRIDES.get(item.state, ())],
    )


@router.get("/items/{item_id}")
def item_detail(
    request: Request, item_id: int, session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)]
) -> Response:
    return _item_page(request, session, find_item(request, item_id))


@router.post("/items/{item_id}/retry")
def retry(
    request: Request,
    item_id: int,
    session: Annotated[Session, Depends(OPERATOR)],
    reason: Annotated[str, Form()] = "",
) -> Response:
    find_item(request, item_id)
    try:
        outcome = dashboard(request).operations.retry(Operator(session.user.name), item_id, reason)
    except BoroughError as exc:
        flash(request, session, str(exc), error=True)
    else:
        flash(request, session, outcome.message + ": the next run of its bot will work it again")
    return redirect(f"/items/{item_id}")


@router.post("/items/{item_id}/resolve")
def resolve(
    request: Request,
    item_id: int,
    session: Annotated[Session, Depends(OPERATOR)],
    to: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    reference: Annotated[str, Form()] = "",
) -> Response:
    item = find_item(request, item_id)
    form = {"to": to, "reason": reason, "reference": reference}
    errors: dict[str, str] = {}
    allowed = OVERRIDES.get(item.state, ())
    if not allowed:  # nothing may change it here (DONE, or moved on since the page was shown)
        wanted = ItemState(to) if to in {s.value for s in ItemState} else ItemState.DONE
        try:
            check_override(item, wanted, reference)
        except BoroughError as exc:
            flash(request, session, str(exc), error=True)
        return redirect(f"/items/{item_id}")
    target = next((s for s in allowed if s.value == to), None)
    if target is None:
        errors[f"to-{allowed[0].value}"] = "Choose what the item should become"
    if target is ItemState.DONE and not reference.strip():
        errors["reference"] = (
            "Enter the target system's reference: an item is done only when the target holds it"
        )
    if not " ".join(reason.split()):
        errors["reason"] = "Enter what you checked: it is kept in the ledger and the audit trail"
    if errors:
        return _item_page(request, session, item, errors=errors, form=form)
    assert target is not None
    try:
        outcome = dashboard(request).operations.override(
            Operator(session.user.name), item_id, target, reason=reason, reference=reference
        )
    except BoroughError as exc:
        flash(request, session, str(exc), error=True)
    else:
        flash(request, session, outcome.message)
    return redirect(f"/items/{item_id}")


@router.get("/approvals")
def approvals_page(
    request: Request, session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)]
) -> Response:
    dash = dashboard(request)
    return render(
        request,
        session,
        "pages/approvals.html",
        title="Changes waiting for approval",
        batches=dash.approvals.pending_batches(),
        decided=dash.approvals.decided(limit=20),
        can_act=session.user.has(Role.OPERATOR),
    )


@router.post("/approvals/{batch_id}/{decision}")
def decide(
    request: Request,
    batch_id: int,
    decision: str,
    session: Annotated[Session, Depends(OPERATOR)],
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/approvals",
) -> Response:
    """Approve, reject or withdraw a request: every item of it that is still waiting."""
    dash = dashboard(request)
    back = back if back.startswith("/") and not back.startswith("//") else "/approvals"
    if decision not in ("approve", "reject", "cancel") or not 0 < batch_id <= MAX_ID:
        raise HTTPException(404)
    try:
        if decision == "cancel":
            count = bulk.cancel_batch(dash.operations, Operator(session.user.name), batch_id)
            message = f"Request {batch_id} withdrawn ({count} item{'s' if count != 1 else ''})"
        else:
            decided = bulk.decide_batch(
                dash.operations, Operator(session.user.name), batch_id, decision == "approve", note
            )
            message = decided.message
    except BoroughError as exc:
        flash(request, session, str(exc), error=True)
    else:
        flash(request, session, message)
    return redirect(back)
