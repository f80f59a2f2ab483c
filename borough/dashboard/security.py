"""Who is asking, and may they: sessions from the cookie, role checks, CSRF on every form.

Every route but sign-in and static files depends on :func:`need`, which finds the
session, checks the role and, for any method that can change something, the form's CSRF
token — so a route cannot forget one of the three.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from borough.dashboard.state import Dashboard
from borough.dashboard.store import Role, Session

SESSION_COOKIE = "borough_session"
SIGNIN_COOKIE = "borough_signin"  # CSRF token of the sign-in form (no session yet)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """No live session: sign in (again)."""


class Forbidden(Exception):
    """Signed in, but this account's roles do not allow it."""


class CsrfRefused(Exception):
    """A form arrived without this session's CSRF token."""


def dashboard(request: Request) -> Dashboard:
    dash: Dashboard = request.app.state.dashboard
    return dash


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_session(request: Request) -> Session | None:
    """The session named by the cookie, looked up once per request."""
    if hasattr(request.state, "session"):
        cached: Session | None = request.state.session
        return cached
    dash = dashboard(request)
    token = request.cookies.get(SESSION_COOKIE)
    session = await run_in_threadpool(dash.sessions.lookup, token) if token else None
    request.state.session = session
    return session


async def check_csrf(request: Request, expected: str) -> None:
    form = await request.form()
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfRefused()


def need(*roles: Role) -> Callable[..., Awaitable[Session]]:
    """Dependency: a signed-in session with one of ``roles`` (any role if none given)."""

    async def dependency(
        request: Request, session: Annotated[Session | None, Depends(current_session)]
    ) -> Session:
        if session is None:
            raise SignInRequired()
        if roles and not session.user.has(*roles):
            raise Forbidden()
        if request.method not in SAFE_METHODS:
            await check_csrf(request, session.csrf)
        return session

    return dependency


def signin_token(request: Request) -> str:
    """The sign-in form's CSRF token: the cookie's if it has one, else a new one."""
    existing = request.cookies.get(SIGNIN_COOKIE)
    return existing if existing and len(existing) >= 32 else secrets.token_urlsafe(32)


OPERATOR = need(Role.OPERATOR)
OPERATOR_OR_AUDITOR = need(Role.OPERATOR, Role.AUDITOR)
AUDITOR = need(Role.AUDITOR)
ADMIN = need(Role.ADMIN)
ANYONE = need()
