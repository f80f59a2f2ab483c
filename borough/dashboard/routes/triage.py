"""The item list an operator triages from: filters, newest first, and bulk retry/resolve
through a confirmation page (with four-eyes, a request a second operator decides)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, Response

from borough.audit.tokens import is_token
from borough.dashboard import triage
from borough.dashboard.routes.runs import PAGE, page_number, pages, parse_states
from borough.dashboard.security import OPERATOR, OPERATOR_OR_AUDITOR, dashboard
from borough.dashboard.store import Role, Session
from borough.dashboard.web import redirect, render
from borough.errors import BoroughError
from borough.ledger import ItemState
from borough.operations import Operator, bulk

router = APIRouter()
BULK_PAGE = 50
RESOLVE_LABELS = {
    ItemState.SKIPPED: "Skipped: there is nothing to do",
    ItemState.FAILED: "Failed: they cannot be done as they stand",
    ItemState.PENDING: "Retry: they are certainly not in the target system",
}


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def filters_from(request: Request) -> triage.Filters:
    params = request.query_params
    token = (params.get("token") or "").strip()
    return triage.Filters(
        bot=(params.get("bot") or "").strip(),
        run=(params.get("run") or "").strip()[:40],
        states=parse_states(params.getlist("state")),
        since=_day(params.get("from")),
        until=_day(params.get("to")),
        reason=(params.get("reason") or "").strip()[:200],
        token=token if is_token(token) else "",
    )


@router.post("/items")
async def filter_items(
    request: Request, session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)]
) -> Response:
    """Filters are posted, so text typed into "reason contains" (an operator may paste a
    reason with a name or NI number in it) reaches the address bar only redacted."""
    form = await request.form()
    redact = dashboard(request).runtime.redactor.redact
    pairs: list[tuple[str, str]] = []
    for key in ("bot", "run", "from", "to", "reason", "token"):
        value = str(form.get(key) or "").strip()
        if key in ("run", "reason"):
            value = redact(value)
        if value:
            pairs.append((key, value[:200]))
    pairs += [("state", str(v)) for v in form.getlist("state") if str(v)]
    return redirect("/items" + (f"?{urlencode(pairs)}" if pairs else ""))


@router.get("/items")
def items_list(
    request: Request, session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)]
) -> Response:
    dash = dashboard(request)
    engine = dash.runtime.ledger.engine
    found = filters_from(request)
    number = page_number(request.query_params.get("page"))
    size = BULK_PAGE if session.user.has(Role.OPERATOR) else PAGE
    ids = triage.find(engine, found, limit=size + 1, offset=(number - 1) * size)
    ledger = dash.runtime.ledger.items
    return render(
        request,
        session,
        "pages/items.html",
        title="Work items",
        items=[ledger.get(i) for i in ids[:size]],
        total=triage.count(engine, found),
        filters=found,
        bots=sorted(set(triage.bots(engine)) | set(dash.runtime.config.bot_names())),
        all_states=list(ItemState),
        can_act=session.user.has(Role.OPERATOR),
        page=number,
        back=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
        **pages(request, number, len(ids) > size),
    )


def _selected(form_ids: list[str] | None) -> list[int]:
    return [int(v) for v in form_ids or [] if v.isdigit() and len(v) < 19]


def _back(back: str) -> str:
    return back if back.startswith("/items") and not back.startswith("//") else "/items"


@router.post("/items/bulk")
def bulk_confirm(
    request: Request,
    session: Annotated[Session, Depends(OPERATOR)],
    action: Annotated[str, Form()] = "",
    item: Annotated[list[str] | None, Form()] = None,
    back: Annotated[str, Form()] = "/items",
) -> Response:
    """The check page: what will happen to which items, and the reason to give."""
    dash = dashboard(request)
    try:
        chosen = bulk.Action(action)
        fit, left = bulk.select(dash.operations, _selected(item), chosen)
    except (ValueError, BoroughError) as exc:
        message = str(exc) if isinstance(exc, BoroughError) else "Choose retry or resolve"
        return _list_error(request, session, message, back)
    return _confirm_page(request, session, chosen, fit, left, back=_back(back))


def _list_error(request: Request, session: Session, message: str, back: str) -> Response:
    dash = dashboard(request)
    dash.sessions.set_flash(session, "error:" + message[0].upper() + message[1:])
    return redirect(_back(back))


def _confirm_page(
    request: Request,
    session: Session,
    action: bulk.Action,
    fit: list[Any],
    left: list[tuple[int, str]],
    *,
    back: str,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    verb = "Retry" if action is bulk.Action.RETRY else "Resolve"
    return render(
        request,
        session,
        "pages/bulk_confirm.html",
        status_code=400 if errors else 200,
        title=f"{verb} {len(fit)} item{'s' if len(fit) != 1 else ''}",
        error_title=bool(errors),
        action=action.value,
        items=fit,
        left=left,
        back=back,
        resolve_to=list(RESOLVE_LABELS.items()),
        errors=errors or {},
        form=form or {},
    )


@router.post("/items/bulk/confirm")
def bulk_apply(
    request: Request,
    session: Annotated[Session, Depends(OPERATOR)],
    action: Annotated[str, Form()] = "",
    item: Annotated[list[str] | None, Form()] = None,
    reason: Annotated[str, Form()] = "",
    to: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/items",
) -> Response:
    dash = dashboard(request)
    ids = _selected(item)
    try:
        chosen = bulk.Action(action)
        fit, left = bulk.select(dash.operations, ids, chosen)
    except (ValueError, BoroughError) as exc:
        message = str(exc) if isinstance(exc, BoroughError) else "Choose retry or resolve"
        return _list_error(request, session, message, back)
    errors: dict[str, str] = {}
    if not " ".join(reason.split()):
        errors["reason"] = (
            "Enter the reason: it is kept with every item in the ledger and the audit trail"
        )
    target = ItemState.PENDING
    if chosen is bulk.Action.RESOLVE:
        try:
            target = ItemState(to)
        except ValueError:
            target = ItemState.DONE
        if target not in RESOLVE_LABELS:
            errors["to-" + next(iter(RESOLVE_LABELS)).value] = "Choose what the items should become"
    if errors:
        return _confirm_page(
            request, session, chosen, fit, left, back=_back(back), errors=errors,
            form={"reason": reason, "to": to},
        )  # fmt: skip
    try:
        result = bulk.run(
            dash.operations, Operator(session.user.name), ids, chosen, reason=reason, to=target
        )
    except BoroughError as exc:
        return _list_error(request, session, str(exc), back)
    return render(
        request,
        session,
        "pages/bulk_done.html",
        title="Request sent for approval" if result.requested else "Items changed",
        result=result,
        action=chosen.value,
        back=_back(back),
    )
