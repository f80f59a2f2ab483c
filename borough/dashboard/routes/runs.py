"""Runs and their items: lists with filters, search by key (as its token), pages."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response

from borough.audit.tokens import is_token
from borough.dashboard.security import OPERATOR_OR_AUDITOR, dashboard
from borough.dashboard.store import Session
from borough.dashboard.web import flash, query, redirect, render
from borough.errors import LedgerError
from borough.evidence.access import listed, stored_state
from borough.ledger import ItemRecord, ItemState, RunRecord, RunStatus

router = APIRouter()
PAGE = 25


def page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 100_000 else 1


def parse_states(values: Sequence[str]) -> list[ItemState]:
    known = {s.value for s in ItemState}
    return [ItemState(v) for v in values if v in known]


def pages(request: Request, page: int, has_next: bool) -> dict[str, Any]:
    return {
        "prev_href": query(request, page=page - 1) if page > 1 else None,
        "next_href": query(request, page=page + 1) if has_next else None,
    }


def find_run(request: Request, run_id: str) -> RunRecord:
    try:
        return dashboard(request).runtime.ledger.runs.get(run_id)
    except LedgerError:
        raise HTTPException(404) from None


def token_for(request: Request, text: str) -> str:
    """What an operator typed (a key, or a p_ token) as the token the ledger holds."""
    text = text.strip()
    return text if is_token(text) else dashboard(request).runtime.tokenizer.token(text)


@router.get("/runs")
def runs_list(
    request: Request,
    session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)],
    bot: str | None = None,
    page: str | None = None,
) -> Response:
    dash = dashboard(request)
    number = page_number(page)
    known = {s.value for s in RunStatus}
    statuses = [RunStatus(s) for s in request.query_params.getlist("status") if s in known]
    found = dash.runtime.ledger.runs.list(
        bot=bot or None,
        statuses=statuses or None,
        limit=PAGE + 1,
        offset=(number - 1) * PAGE,
    )
    return render(
        request,
        session,
        "pages/runs.html",
        title="Runs",
        runs=found[:PAGE],
        bots=dash.runtime.config.bot_names(),
        bot=bot or "",
        statuses=[s.value for s in statuses],
        all_statuses=list(RunStatus),
        page=number,
        **pages(request, number, len(found) > PAGE),
    )


def _items(
    request: Request, *, run_id: str | None, bot: str | None = None
) -> tuple[list[ItemRecord], dict[str, Any]]:
    dash = dashboard(request)
    number = page_number(request.query_params.get("page"))
    states = parse_states(request.query_params.getlist("state"))
    token = request.query_params.get("token") or None
    if token is not None and not is_token(token):
        token = None
    found = dash.runtime.ledger.items.list(
        run_id=run_id,
        bot=bot,
        states=states or None,
        token=token,
        limit=PAGE + 1,
        offset=(number - 1) * PAGE,
    )
    context = {
        "states": [s.value for s in states],
        "all_states": list(ItemState),
        "token": token or "",
        "page": number,
        **pages(request, number, len(found) > PAGE),
    }
    return found[:PAGE], context


@router.get("/runs/{run_id}")
def run_detail(
    request: Request, run_id: str, session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)]
) -> Response:
    dash = dashboard(request)
    run = find_run(request, run_id)
    if run.id != run_id:
        return redirect(f"/runs/{run.id}")
    items, context = _items(request, run_id=run.id)
    return render(
        request,
        session,
        "pages/run.html",
        title=f"Run {run.id}",
        run=run,
        items=items,
        action=f"/runs/{run.id}",
        evidence=evidence_files(dash.runtime.paths.logs, dash.runtime.paths.audit, run.id),
        **context,
    )


@router.post("/runs/{run_id}/search")
def search_run(
    request: Request,
    run_id: str,
    session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)],
    key: Annotated[str, Form()] = "",
) -> Response:
    """The key is posted (never put in a URL) and turned into its token for the link."""
    run = find_run(request, run_id)
    if not key.strip():
        flash(request, session, "Enter an item's key or token to search for", error=True)
        return redirect(f"/runs/{run.id}")
    return redirect(f"/runs/{run.id}?token={token_for(request, key)}")


@router.post("/items/search")
def search_items(
    request: Request,
    session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)],
    key: Annotated[str, Form()] = "",
) -> Response:
    if not key.strip():
        flash(request, session, "Enter an item's key or token to search for", error=True)
        return redirect("/items")
    return redirect(f"/items?token={token_for(request, key)}")


def evidence_files(logs: Path, audit: Path, run_id: str) -> list[dict[str, Any]]:
    """The run's evidence as the trail lists it, each with its hash check."""
    return [
        {
            "path": captured.relative.removeprefix("evidence/"),
            "name": captured.name,
            "folder": PurePosixPath(captured.relative).parent.name,
            "kind": captured.kind,
            "state": stored_state(logs, captured),
        }
        for captured in listed(audit, run=run_id)
    ]
