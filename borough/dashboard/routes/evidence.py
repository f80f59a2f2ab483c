"""Evidence files: sealed at rest, opened only by the roles of ``dashboard.evidence_roles``,
each time with a purpose, and only after the view is in the audit trail.

``GET /evidence/view/<path>`` shows what the file is and its hash check, and asks why it
is needed; the purpose is posted to ``/evidence/view/<path>`` (shown in the page: an image
inline, text as text) or ``/evidence/file/<path>`` (downloaded). Nothing is decrypted by
a GET, so no link, prefetch or browser history can open evidence.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from borough.dashboard.security import ANYONE, Forbidden, dashboard
from borough.dashboard.store import Role, Session
from borough.dashboard.web import render
from borough.errors import EvidenceError
from borough.evidence.access import Captured, Opened, canonical, find, open_evidence, stored_state

router = APIRouter()


def may_open(request: Request, session: Session) -> bool:
    roles = dashboard(request).settings.evidence_roles
    return session.user.has(*(Role(r) for r in roles))


async def _allowed(request: Request, session: Session) -> None:
    """Viewers of evidence: the configured roles; anyone else is refused (and recorded)."""
    if not (session.user.has(Role.OPERATOR, Role.AUDITOR) or may_open(request, session)):
        raise Forbidden()  # recorded by the dashboard's handler


def _captured(request: Request, relative: str) -> Captured:
    try:
        return find(dashboard(request).runtime.paths.audit, canonical(relative))
    except EvidenceError:
        raise HTTPException(404) from None


def _page(
    request: Request,
    session: Session,
    captured: Captured,
    *,
    opened: Opened | None = None,
    errors: dict[str, str] | None = None,
    purpose: str = "",
) -> Response:
    image = None
    if opened is not None and captured.is_image:
        image = f"data:{opened.media_type};base64,{base64.b64encode(opened.data).decode()}"
    return render(
        request,
        session,
        "pages/evidence.html",
        status_code=400 if errors else 200,
        title=f"Evidence {captured.name}",
        error_title=bool(errors),
        errors=errors or {},
        purpose=purpose,
        captured=captured,
        path=captured.relative.removeprefix("evidence/"),
        state=stored_state(dashboard(request).runtime.paths.logs, captured),
        may_open=may_open(request, session),
        evidence_roles=dashboard(request).settings.evidence_roles,
        opened=opened,
        image=image,
        text=opened.text() if opened is not None and captured.is_text else None,
    )


@router.get("/evidence/view/{relative:path}")
async def about(
    request: Request, relative: str, session: Annotated[Session, Depends(ANYONE)]
) -> Response:
    await _allowed(request, session)
    captured = await run_in_threadpool(_captured, request, relative)
    return await run_in_threadpool(_page, request, session, captured)


@router.post("/evidence/view/{relative:path}")
async def view(
    request: Request,
    relative: str,
    session: Annotated[Session, Depends(ANYONE)],
    purpose: Annotated[str, Form()] = "",
) -> Response:
    return await _open(request, relative, session, purpose, export=False)


@router.post("/evidence/file/{relative:path}")
async def download(
    request: Request,
    relative: str,
    session: Annotated[Session, Depends(ANYONE)],
    purpose: Annotated[str, Form()] = "",
) -> Response:
    return await _open(request, relative, session, purpose, export=True)


async def _open(
    request: Request, relative: str, session: Session, purpose: str, *, export: bool
) -> Response:
    if not may_open(request, session):
        raise Forbidden()
    dash = dashboard(request)
    captured = await run_in_threadpool(_captured, request, relative)
    try:
        opened = await run_in_threadpool(
            open_evidence,
            dash.runtime,
            dash.trail(session.user),
            captured.relative,
            purpose=purpose,
            export=export,
        )
    except EvidenceError as exc:
        errors = {"purpose": exc.message}
        return await run_in_threadpool(
            _page, request, session, captured, errors=errors, purpose=purpose
        )
    if not export:
        return await run_in_threadpool(_page, request, session, captured, opened=opened)
    response = Response(
        opened.data,
        media_type=opened.media_type if captured.is_image else "application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{captured.name}"'},
    )
    # Whatever the file holds (page HTML, scripts), the browser must not run it.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
