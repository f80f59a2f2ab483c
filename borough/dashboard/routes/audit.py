"""The auditor's area (read-only): browse the trail, verify the chain, export, SAR search.

Pages read the audit index and seek into the segment files for the records they show
(:mod:`borough.audit.browse`); exports stream; nothing here reads a whole trail.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from borough.audit.browse import AuditView, person_filters, range_filters
from borough.audit.check import verify_installation
from borough.audit.indexrows import Filters
from borough.audit.reading import export_chunks, export_text
from borough.audit.tokens import Tokenizer, is_token
from borough.dashboard.charts import LONDON
from borough.dashboard.routes.runs import page_number, pages
from borough.dashboard.security import AUDITOR, dashboard
from borough.dashboard.store import Session
from borough.dashboard.web import redirect, render
from borough.errors import AuditError

router = APIRouter()
PAGE = 50
FILTERS = ("run", "item", "person", "action", "actor")


def download_text(records: list[dict[str, Any]], fmt: str) -> str:
    """Records as CSV or JSON Lines. CSV cells that a spreadsheet would run as a formula
    (a reason typed as ``=HYPERLINK(...)``) are made inert; JSON Lines stay exactly as stored."""
    return export_text(iter(records), fmt)


def download(records: Iterator[dict[str, Any]], fmt: str, filename: str) -> StreamingResponse:
    """A download that streams (constant memory however many records)."""
    media = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return StreamingResponse(
        (chunk.encode("utf-8") for chunk in export_chunks(records, fmt)),
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


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
    number = page_number(request.query_params.get("page"))
    filters = Filters(**wanted)
    try:
        found = AuditView.of(dash.runtime).catch_up().page(filters, number, PAGE)
    except AuditError as exc:
        errors["filter-run"] = str(exc)
        found = None
    return render(
        request,
        session,
        "pages/audit.html",
        title="Audit trail",
        error_title=bool(errors),
        errors=errors,
        wanted=wanted,
        records=found.records if found else [],
        total=found.total if found else 0,
        capped=found.capped if found else False,
        notes=found.notes if found else [],
        page=number,
        **pages(request, number, bool(found and found.more)),
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
    view = AuditView.of(dash.runtime).catch_up()
    filters = range_filters(since, until)
    dash.trail(session.user).emit(
        "audit.export",
        detail={
            "from": since.isoformat() if since else None,
            "to": until.isoformat() if until else None,
            "format": fmt,
            "records": view.count(filters),
        },
    )
    stamp = dash.clock().astimezone(LONDON).strftime("%Y%m%d-%H%M%S")
    return download(view.stream(filters), fmt, f"borough-audit-{stamp}.{fmt}")


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
    page: Annotated[str, Form()] = "1",
) -> Response:
    """The identifier is posted, tokenised here and never stored, logged or put in a URL.

    The first page of records comes at once from the index; further pages and downloads
    are posted back with the token (never the identifier)."""
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
    view = AuditView.of(dash.runtime).catch_up()
    filters = person_filters(token)
    number = page_number(page)
    total = view.count(filters)
    if format in ("csv", "jsonl") or number == 1:
        dash.trail(session.user).emit(
            "audit.sar",
            subjects=[token],
            detail={"records": total, "via": "dashboard", "format": format},
        )
    if format in ("csv", "jsonl"):
        return download(view.stream(filters), format, f"sar-{token}.{format}")
    found = view.page(filters, number, PAGE)
    items = dash.runtime.ledger.items.list(token=token, limit=10_000)
    return render(
        request,
        session,
        "pages/audit_sar.html",
        title="Subject access request",
        errors={},
        result={
            "token": token,
            "records": found.records,
            "total": total,
            "page": number,
            "more": found.more,
            "notes": found.notes,
            "items": items,
        },
    )
