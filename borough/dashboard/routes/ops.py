"""Schedules (next fire, pause/resume/run now) and runs queued for a licence seat."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from borough.dashboard.security import OPERATOR, OPERATOR_OR_AUDITOR, dashboard
from borough.dashboard.store import Role, Session
from borough.dashboard.web import flash, redirect, render
from borough.errors import BoroughError
from borough.ledger import RunStatus

router = APIRouter()


@router.get("/queue")
def queue(request: Request, session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)]) -> Response:
    dash = dashboard(request)
    config = dash.runtime.config
    ledger = dash.runtime.ledger
    queued = list(reversed(ledger.runs.list(statuses=[RunStatus.QUEUED], limit=1000)))
    running = ledger.runs.list(statuses=[RunStatus.RUNNING], limit=1000)
    uses: dict[str, list[str]] = {}
    for name in config.bot_names():
        try:
            bot = config.bot_config(name)
        except BoroughError:
            continue
        for used in bot.apps if bot else []:
            uses.setdefault(used, []).append(name)
    seats: list[dict[str, Any]] = []
    for app_name, app in sorted(config.apps.items()):
        if app.max_sessions is None:
            continue
        bots = uses.get(app_name, [])
        seats.append(
            {
                "app": app_name,
                "seats": app.max_sessions,
                "in_use": sum(1 for r in running if r.bot in bots),
                "waiting": sum(1 for r in queued if r.bot in bots),
                "bots": bots,
            }
        )
    return render(
        request,
        session,
        "pages/queue.html",
        title="Runs waiting for a licence seat",
        queued=queued,
        seats=seats,
        now=dash.clock(),
    )


@router.get("/runners")
def runners(
    request: Request, session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)]
) -> Response:
    """Every machine of the installation (``borough status`` in the browser)."""
    from borough.fleet import fleet_status

    fleet = fleet_status(dashboard(request).runtime.ledger)
    return render(
        request,
        session,
        "pages/runners.html",
        title="Runners",
        hosts=fleet.hosts,
        queues=fleet.queues,
        now=fleet.now,
        beat=None,  # each runner is judged by the heartbeat interval it recorded
    )


@router.get("/schedules")
def schedules(
    request: Request, session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)]
) -> Response:
    dash = dashboard(request)
    control = dash.schedules
    return render(
        request,
        session,
        "pages/schedules.html",
        title="Schedules",
        rows=control.list() if control is not None else None,
        running=control.status() if control is not None else None,
        can_act=session.user.has(Role.OPERATOR),
    )


@router.get("/schedules/{schedule_id}/run-now")
def run_now_confirm(
    request: Request, schedule_id: str, session: Annotated[Session, Depends(OPERATOR)]
) -> Response:
    """Run now starts real work in a legacy system: the operator confirms it first."""
    dash = dashboard(request)
    rows = {row.id: row for row in dash.schedules.list()} if dash.schedules else {}
    row = rows.get(schedule_id)
    if row is None:
        raise HTTPException(404)
    return render(
        request,
        session,
        "pages/confirm.html",
        title=f"Run {row.id} now?",
        explain=[
            f"This queues a run of the bot {row.bot} at once, as if the schedule had fired "
            f"({row.when}). It still waits for a licence seat if none is free.",
            "The run is recorded with your name as the person who started it.",
        ],
        action=f"/schedules/{row.id}/run-now",
        button="Run now",
        back="/schedules",
        warning=False,
    )


@router.post("/schedules/{schedule_id}/{action}")
def schedule_action(
    request: Request,
    schedule_id: str,
    action: str,
    session: Annotated[Session, Depends(OPERATOR)],
) -> Response:
    dash = dashboard(request)
    if action not in ("pause", "resume", "run-now"):
        raise HTTPException(404)
    if dash.schedules is None:
        flash(request, session, "The scheduler is not connected to this dashboard", error=True)
        return redirect("/schedules")
    actor = session.user.actor  # the scheduler records the change with this actor
    try:
        if action == "pause":
            message = dash.schedules.pause(schedule_id, actor=actor)
        elif action == "resume":
            message = dash.schedules.resume(schedule_id, actor=actor)
        else:
            message = dash.schedules.run_now(schedule_id, actor=actor)
    except BoroughError as exc:
        flash(request, session, str(exc), error=True)
    else:
        flash(request, session, f"{schedule_id}: {message}")
    return redirect("/schedules")
