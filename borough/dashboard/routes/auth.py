"""Sign in and out: throttled, CSRF-protected, recorded in the audit trail."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from starlette.concurrency import run_in_threadpool

from borough.dashboard import devices
from borough.dashboard.security import (
    ANYONE,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    CsrfRefused,
    client_address,
    current_session,
    dashboard,
    signin_token,
)
from borough.dashboard.store import Role, Session
from borough.dashboard.web import redirect, render

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path on this site (no ``//host`` or scheme) may be returned to after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def home_for(session: Session) -> str:
    return "/" if session.user.has(Role.OPERATOR, Role.AUDITOR) else "/admin/users"


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str = "/") -> Response:
    session = await current_session(request)
    if session is not None:
        return redirect(home_for(session))
    return await run_in_threadpool(_form, request, next=safe_next(next))


def _form(
    request: Request,
    *,
    next: str,
    error: str | None = None,
    status_code: int = 200,
    name: str = "",
) -> Response:
    token = signin_token(request)
    response = render(
        request,
        None,
        "pages/sign_in.html",
        status_code=status_code,
        title="Sign in",
        error_title=bool(error),
        csrf_token=token,
        next=next,
        error=error,
        name=name,
    )
    settings = dashboard(request).settings
    response.set_cookie(
        SIGNIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/sign-in",
    )
    return response


@router.post("/sign-in")
def sign_in(
    request: Request,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token, expected):
        raise CsrfRefused()
    dash = dashboard(request)
    typed = name.strip()[:64]
    name = typed.lower()
    client = client_address(request)
    device = devices.token_for(dash, request.cookies.get(devices.DEVICE_COOKIE), name)
    known = dash.users.get(name) if name else None
    hold = dash.throttle.check(name, client, device)
    if hold is not None:
        dash.trail(known).emit(
            "dashboard.sign_in",
            outcome="throttled",
            detail={"rule": hold.rule, "wait_seconds": hold.seconds},
        )
        where = "this account" if hold.rule == "account" else "your network"
        return _form(
            request,
            next=safe_next(next),
            status_code=429,
            name=typed,
            error=f"There have been too many failed sign-ins to {where}. Wait {hold.seconds} "
            f"second{'s' if hold.seconds != 1 else ''}, then sign in again.",
        )
    user = dash.users.authenticate(name, password) if name and password else None
    if user is None:
        dash.throttle.failed(name, client, device)
        reason = "wrong password or account disabled" if known else "unknown account"
        dash.trail(known).emit("dashboard.sign_in", outcome="failed", detail={"reason": reason})
        return _form(
            request,
            next=safe_next(next),
            status_code=401,
            name=typed,
            error="Enter a correct account name and password",
        )
    dash.throttle.succeeded(name)
    token, session = dash.sessions.create(user)
    dash.trail(user).emit("dashboard.sign_in", outcome="ok")
    response = redirect(safe_next(next) if next != "/" else home_for(session))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=dash.settings.secure_cookies,
        path="/",
    )
    response.set_cookie(
        devices.DEVICE_COOKIE,
        devices.issue(dash, user.name),
        max_age=int(devices.LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=dash.settings.secure_cookies,
        path="/sign-in",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/sign-in")
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: Annotated[Session, Depends(ANYONE)]) -> Response:
    dash = dashboard(request)
    dash.sessions.end(session)
    dash.trail(session.user).emit("dashboard.sign_out")
    response = redirect("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
