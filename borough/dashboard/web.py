"""Rendering: Jinja2 templates on the GOV.UK Frontend page template, navigation, messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from borough.audit import records
from borough.dashboard.security import dashboard
from borough.dashboard.store import Role, Session
from borough.ledger import ItemState, RunStatus

LONDON = ZoneInfo("Europe/London")
TEMPLATES = Path(__file__).resolve().parent / "templates"

#: GOV.UK tag colour per run status and item state (colour is never the only cue).
STATUS_TAG = {
    RunStatus.SUCCEEDED: "green",
    RunStatus.COMPLETED_WITH_FAILURES: "orange",
    RunStatus.FAILED: "red",
    RunStatus.CRASHED: "red",
    RunStatus.TIMED_OUT: "red",
    RunStatus.MISSED: "purple",
    RunStatus.CANCELLED: "grey",
    RunStatus.RUNNING: "blue",
    RunStatus.QUEUED: "light-blue",
    RunStatus.DRY_RUN: "grey",
}
STATE_TAG = {
    ItemState.DONE: "green",
    ItemState.FAILED: "red",
    ItemState.NEEDS_REVIEW: "orange",
    ItemState.SKIPPED: "grey",
    ItemState.PENDING: "light-blue",
    ItemState.CLAIMED: "blue",
    ItemState.IN_FLIGHT: "purple",
}


@dataclass(frozen=True)
class NavItem:
    text: str
    href: str
    roles: tuple[Role, ...]


NAV = (
    NavItem("Overview", "/", (Role.OPERATOR, Role.AUDITOR)),
    NavItem("Runs", "/runs", (Role.OPERATOR, Role.AUDITOR)),
    NavItem("Schedules", "/schedules", (Role.OPERATOR, Role.AUDITOR)),
    NavItem("Seat queue", "/queue", (Role.OPERATOR, Role.AUDITOR)),
    NavItem("Approvals", "/approvals", (Role.OPERATOR, Role.AUDITOR)),
    NavItem("Apps", "/drift", (Role.OPERATOR, Role.AUDITOR)),
    NavItem("Benefits", "/benefits", (Role.OPERATOR, Role.AUDITOR)),
    NavItem("Audit trail", "/audit", (Role.AUDITOR,)),
    NavItem("Users", "/admin/users", (Role.ADMIN,)),
)


def local_time(value: datetime | None, fmt: str = "%d %b %Y %H:%M:%S") -> str:
    """UTC from the ledger shown as UK local time (GMT/BST), as operators read clocks."""
    if value is None:
        return "-"
    return value.astimezone(LONDON).strftime(fmt)


def record_time(ts: str | None) -> str:
    """An audit record's UTC ``ts`` in UK local time."""
    if not ts:
        return "-"
    try:
        return local_time(records.parse_ts(ts))
    except ValueError:
        return ts


def status_tag(value: RunStatus | ItemState) -> Markup:
    colour = STATUS_TAG[value] if isinstance(value, RunStatus) else STATE_TAG[value]
    label = value.value.replace("_", " ").upper()
    return Markup('<strong class="govuk-tag govuk-tag--{}">{}</strong>').format(colour, label)


_ACTED = re.compile(r"\bby user:([\w.-]+)(?:, approved by user:([\w.-]+))?")


def acted_by(resolution: str | None) -> str:
    """Who last decided an item by hand, from the ledger's resolution text ("-": nobody)."""
    found = _ACTED.search(resolution or "")
    if found is None:
        return "-"
    asked, approver = found.groups()
    return f"{asked}, approved by {approver}" if approver else asked


def started_by(trigger: str, schedule: str | None = None) -> str:
    """Who or what started a run: the operator who pressed Run now, a schedule, a command."""
    kind, _, who = trigger.partition(":")
    if kind == "run-now":
        person = who.removeprefix("user:")
        return f"{person} (Run now{f' of {schedule}' if schedule else ''})"
    if kind == "schedule":
        return f"schedule {who or schedule}"
    if who.startswith("user:"):
        return f"{who.removeprefix('user:')} ({kind})"
    return f"schedule {schedule}" if schedule else trigger


def query(request: Request, **changes: Any) -> str:
    """The current query string with ``changes`` (None removes a key), for links."""
    params: dict[str, Any] = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(params) if params else "?"


templates = Jinja2Templates(directory=TEMPLATES)
templates.env.filters["local"] = local_time
templates.env.filters["record_time"] = record_time
templates.env.filters["acted_by"] = acted_by
templates.env.globals["started_by"] = started_by
templates.env.globals["status_tag"] = status_tag
templates.env.globals["query"] = query


def render(
    request: Request,
    session: Session | None,
    template: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    dash = dashboard(request)
    user = session.user if session else None
    flash = dash.sessions.pop_flash(session) if session else None
    kind, _, text = (flash or "").partition(":")
    nav = [
        {"text": n.text, "href": n.href, "current": _current(request.url.path, n.href)}
        for n in NAV
        if user is not None and user.has(*n.roles)
    ]
    base = {
        "user": user,
        "csrf_token": session.csrf if session else context.pop("csrf_token", ""),
        "flash": {"kind": kind, "text": text} if flash else None,
        "nav": nav,
        "council": dash.council,
        "cspNonce": getattr(request.state, "csp_nonce", ""),
        "four_eyes": dash.settings.four_eyes,
    }
    return templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )


def _current(path: str, href: str) -> bool:
    return path == "/" if href == "/" else path == href or path.startswith(href + "/")


def redirect(url: str) -> RedirectResponse:
    """After a POST: see-other, so a reload does not send the form again."""
    return RedirectResponse(url, status_code=303)


def flash(request: Request, session: Session, message: str, *, error: bool = False) -> None:
    dashboard(request).sessions.set_flash(session, ("error:" if error else "success:") + message)
