"""The auditor's area (read-only): browse the trail, verify the chain, export, SAR search."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from borough.audit.check import verify_installation
from borough.audit.reading import about_subject, export_text, in_range, iter_records
from borough.audit.tokens import Tokenizer, is_token
from borough.dashboard.charts import LONDON
from borough.dashboard.routes.runs import page_number, pages
from borough.dashboard.security import AUDITOR, dashboard
from borough.dashboard.store import Session
from borough.dashboard.web import redirect, render
from borough.formulas import csv_safe

router = APIRouter()
PAGE = 50
FILTERS = ("run", "item", "person", "action", "actor")


def download_text(records: list[dict[str, Any]], fmt: str) -> str:
    """Records as CSV or JSON Lines. CSV cells that a spreadsheet would run as a formula
    (a reason typed as ``=HYPERLINK(...)``) are made inert; JSON Lines stay exactly as stored."""
    if fmt != "csv":
        return export_text(iter(records), fmt)
    flat = (
        {
            key: csv_safe(
                json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
            )
            for key, value in record.items()
        }
        for record in records
    )
    return export_text(flat, fmt)


def _matches(record: dict[str, Any], wanted: dict[str, str]) -> bool:
    if wanted.get("run") and record.get("run_id") != wanted["run"]:
        return False
    if wanted.get("item") and record.get("item") != wanted["item"]:
        return False
    person = wanted.get("person")
    if person and record.get("item") != person and person not in (record.get("subjects") or []):
        return False
    if wanted.get("action") and not str(record.get("action") or "").startswith(wanted["action"]):
        return False
    return not (wanted.get("actor") and record.get("actor") != wanted["actor"])


@router.post("/audit")
def filter_records(
    request: Request,
    session: Annotated[Session, Depends(AUDITOR)],
    run: Annotated[str, Form()] = "",
    item: Annotated[str, Form()] = "",
    person: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    actor: Annotated[str, Form()] = "",
) -> Response:
    """Filters are posted: an item key or a person's identifier (an NI number) typed into
    the form becomes its token here, and only tokens and redacted text reach the URL."""
    dash = dashboard(request)
    tokens = dash.runtime.tokenizer
    redact = dash.runtime.redactor.redact
    values = {
        "run": redact(run.strip())[:60],
        "item": token_for(tokens, item),
        "person": token_for(tokens, person),
        "action": redact(action.strip())[:60],
        "actor": redact(actor.strip())[:120],
    }
    kept = {key: value for key, value in values.items() if value}
    return redirect("/audit" + (f"?{urlencode(kept)}" if kept else ""))


def token_for(tokens: Tokenizer, typed: str) -> str:
    """A token as typed, or the token of an identifier typed in its place ('' for none)."""
    text = typed.strip()
    return text if not text or is_token(text) else tokens.token(text)


@router.get("/audit")
def browse(request: Request, session: Annotated[Session, Depends(AUDITOR)]) -> Response:
    dash = dashboard(request)
    wanted = {f: (request.query_params.get(f) or "").strip() for f in FILTERS}
    errors = {
        f"filter-{f}": f"Enter a token starting p_ for the {f}, or type the key or identifier "
        f"in the form: it is turned into its token before it reaches the address bar"
        for f in ("item", "person")
        if wanted[f] and not is_token(wanted[f])
    }
    for field in ("item", "person"):
        if f"filter-{field}" in errors:
            wanted[field] = ""
    found = [r for r in iter_records(dash.runtime.paths.audit) if _matches(r, wanted)]
    found.reverse()
    number = page_number(request.query_params.get("page"))
    start = (number - 1) * PAGE
    return render(
        request,
        session,
        "pages/audit.html",
        title="Audit trail",
        error_title=bool(errors),
        errors=errors,
        wanted=wanted,
        records=found[start : start + PAGE],
        total=len(found),
        page=number,
        **pages(request, number, len(found) > start + PAGE),
    )


@router.get("/audit/verify")
def verify(request: Request, session: Annotated[Session, Depends(AUDITOR)]) -> Response:
    verdict = verify_installation(dashboard(request).runtime)
    return render(
        request, session, "pages/audit_verify.html", title="Chain verification", verdict=verdict
    )


def _date(form: FormData, prefix: str) -> date | None:
    parts = [str(form.get(f"{prefix}-{p}") or "").strip() for p in ("day", "month", "year")]
    if not any(parts):
        return None
    try:
        day, month, year = (int(p) for p in parts)
        return date(year, month, day)
    except ValueError:
        raise ValueError(prefix) from None


def _range(form: FormData) -> tuple[datetime | None, datetime | None, dict[str, str]]:
    errors: dict[str, str] = {}
    bounds: dict[str, date | None] = {}
    for prefix, label in (("from", "start"), ("to", "end")):
        try:
            bounds[prefix] = _date(form, prefix)
        except ValueError:
            bounds[prefix] = None
            errors[f"{prefix}-day"] = f"The {label} date must be a real date, like 23 11 2026"
    start, end = bounds["from"], bounds["to"]
    if start and end and end < start:
        errors["to-day"] = "The end date must be the same as or after the start date"
    since = datetime(start.year, start.month, start.day, tzinfo=LONDON) if start else None
    until = (
        datetime(end.year, end.month, end.day, tzinfo=LONDON) + timedelta(days=1) if end else None
    )
    return since, until, errors


@router.get("/audit/export")
def export_form(request: Request, session: Annotated[Session, Depends(AUDITOR)]) -> Response:
    return render(
        request,
        session,
        "pages/audit_export.html",
        title="Export the audit trail",
        errors={},
        form={},
    )


@router.post("/audit/export")
async def export(request: Request, session: Annotated[Session, Depends(AUDITOR)]) -> Response:
    form = await request.form()  # date parts arrive as six optional fields
    return await run_in_threadpool(_export, request, session, form)


def _export(request: Request, session: Session, form: FormData) -> Response:
    dash = dashboard(request)
    fmt = str(form.get("format") or "csv")
    since, until, errors = _range(form)
    if fmt not in ("csv", "jsonl"):
        errors["format-csv"] = "Choose CSV or JSON Lines"
    if errors:
        return render(
            request,
            session,
            "pages/audit_export.html",
            status_code=400,
            title="Export the audit trail",
            error_title=True,
            errors=errors,
            form=dict(form),
        )
    rows = list(in_range(dash.runtime.paths.audit, since, until))
    body = download_text(rows, fmt)
    dash.trail(session.user).emit(
        "audit.export",
        detail={
            "from": since.isoformat() if since else None,
            "to": until.isoformat() if until else None,
            "format": fmt,
            "records": len(rows),
        },
    )
    stamp = dash.clock().astimezone(LONDON).strftime("%Y%m%d-%H%M%S")
    media = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return Response(
        body.encode("utf-8"),
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="borough-audit-{stamp}.{fmt}"'},
    )


@router.get("/audit/sar")
def sar_form(request: Request, session: Annotated[Session, Depends(AUDITOR)]) -> Response:
    return render(
        request,
        session,
        "pages/audit_sar.html",
        title="Subject access request",
        errors={},
        result=None,
    )


@router.post("/audit/sar")
def sar(
    request: Request,
    session: Annotated[Session, Depends(AUDITOR)],
    who: Annotated[str, Form()] = "",
    format: Annotated[str, Form()] = "page",
) -> Response:
    """The identifier is posted, tokenised here and never stored, logged or put in a URL."""
    dash = dashboard(request)
    who = who.strip()
    if not who:
        return render(
            request,
            session,
            "pages/audit_sar.html",
            status_code=400,
            title="Subject access request",
            error_title=True,
            errors={"who": "Enter the person's identifier or token"},
            result=None,
        )
    token = who if is_token(who) else dash.runtime.tokenizer.token(who)
    records = list(about_subject(dash.runtime.paths.audit, token))
    items = dash.runtime.ledger.items.list(token=token, limit=10_000)
    dash.trail(session.user).emit(
        "audit.sar", subjects=[token], detail={"records": len(records), "via": "dashboard"}
    )
    if format in ("csv", "jsonl"):
        return Response(
            download_text(records, format).encode("utf-8"),
            media_type="text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="sar-{token}.{format}"'},
        )
    return render(
        request,
        session,
        "pages/audit_sar.html",
        title="Subject access request",
        errors={},
        result={"token": token, "records": records, "items": items},
    )
