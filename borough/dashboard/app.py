"""The FastAPI application: routes per area, security headers, error pages."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from loguru import logger
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from borough.dashboard import assets
from borough.dashboard.routes import (
    admin,
    audit,
    auth,
    benefits,
    drift,
    evidence,
    items,
    ops,
    overview,
    runs,
    triage,
)
from borough.dashboard.security import (
    CsrfRefused,
    Forbidden,
    SignInRequired,
    current_session,
    record_denial,
)
from borough.dashboard.state import Dashboard
from borough.dashboard.web import render

#: Every area of the dashboard; all of them are included, none with a prefix.
ROUTERS = (auth, overview, runs, triage, items, evidence, ops, drift, benefits, audit, admin)

_PAGE_CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def create_app(dash: Dashboard) -> FastAPI:
    """The dashboard for ``dash``; refuses to start without the vendored GOV.UK Frontend."""
    vendor = assets.require_assets()
    app = FastAPI(title="borough dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.dashboard = dash
    app.mount("/static", StaticFiles(directory=assets.STATIC), name="static")
    app.mount("/assets", StaticFiles(directory=vendor / "assets"), name="assets")
    for module in ROUTERS:
        app.include_router(module.router)
    app.middleware("http")(_security_headers)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    return app


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Every response gets the headers, an unexpected error's page included (Starlette
    would otherwise answer it from outside this middleware, without them)."""
    nonce = secrets.token_urlsafe(16)
    request.state.csp_nonce = nonce
    try:
        response = await call_next(request)
    except Exception as exc:
        response = await _unexpected(request, exc)
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _PAGE_CSP.format(nonce=nonce))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    if not request.url.path.startswith(("/static/", "/assets/")):
        headers["Cache-Control"] = "no-store"
    return response


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    target = request.url.path
    if request.method == "GET" and target not in ("/", "/sign-in"):
        return RedirectResponse(f"/sign-in?next={target}", status_code=303)
    return RedirectResponse("/sign-in", status_code=303)


async def _error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    session = await current_session(request)
    return await run_in_threadpool(
        render,
        request,
        session,
        "pages/error.html",
        status_code=status_code,
        title=title,
        message=message,
    )


async def _forbidden(request: Request, exc: Exception) -> Response:
    await record_denial(request, "forbidden")
    return await _error_page(
        request,
        403,
        "You cannot do that",
        "Your account's role does not allow this page or action. Ask an administrator "
        "if you need it.",
    )


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    await record_denial(request, "csrf")
    return await _error_page(
        request,
        403,
        "The form could not be accepted",
        "The form was out of date or did not come from this dashboard, so nothing was "
        "changed. Go back, reload the page and try again.",
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return await _error_page(
            request, 404, "Page not found", "If you typed the web address, check it is correct."
        )
    return await _error_page(request, exc.status_code, "Sorry, there is a problem", str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.opt(exception=exc).bind(action="dashboard.error").error(
        "{} {} failed", request.method, request.url.path
    )
    return HTMLResponse(
        "<!DOCTYPE html><html lang='en'><head><title>Sorry, there is a problem – borough</title>"
        "</head><body><main><h1>Sorry, there is a problem with the dashboard</h1><p>If you were "
        "saving something, check whether it was saved before trying again. The error is in "
        "the dashboard's log.</p></main></body></html>",
        status_code=500,
    )
