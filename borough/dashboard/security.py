"""Who is asking, and may they: sessions from the cookie, role checks, CSRF on every form.

Every route but sign-in and static files depends on :func:`need`, which finds the
session, checks the role and, for any method that can change something, the form's CSRF
token — so a route cannot forget one of the three.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from borough.dashboard.state import Dashboard
from borough.dashboard.store import Role, Session

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

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
    """The client's address: the peer's, or, when the peer is a trusted reverse proxy, the
    nearest address in ``X-Forwarded-For`` that is not itself a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    trusted = _networks(tuple(dashboard(request).settings.trusted_proxies))
    if not trusted or not _within(peer, trusted):
        return peer
    forwarded = [
        part.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for part in header.split(",")
        if part.strip()
    ]
    for address in reversed(forwarded):
        if not _within(address, trusted):
            return address
    return forwarded[0] if forwarded else peer


@functools.cache
def _networks(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def _within(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in networks)


async def record_denial(request: Request, outcome: str) -> None:
    """Every refusal is in the audit trail: who (or anonymous), what they tried, and why."""
    session = await current_session(request)
    trail = dashboard(request).trail(session.user if session else None)
    detail = {"method": request.method, "path": request.url.path}
    await run_in_threadpool(trail.emit, "dashboard.denied", outcome=outcome, detail=detail)


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
