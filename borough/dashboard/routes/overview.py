"""The first page: what failed or needs review since the last working day, newest first and
by bot and reason; then runs by outcome, missed fires and runs over time."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from borough.dashboard import triage
from borough.dashboard.charts import LONDON, runs_per_day
from borough.dashboard.routes.drift import latest_checks
from borough.dashboard.security import ANYONE, dashboard
from borough.dashboard.store import Role, Session
from borough.dashboard.web import redirect, render
from borough.ledger import ItemState, RunStatus

router = APIRouter()

WINDOWS = {
    0: "Since the last working day",
    24: "Last 24 hours",
    72: "Last 3 days",
    168: "Last 7 days",
}
NEWEST = 5  #: failed or review items listed first, so the first is on screen at once
PROBLEMS = (
    RunStatus.COMPLETED_WITH_FAILURES,
    RunStatus.FAILED,
    RunStatus.CRASHED,
    RunStatus.TIMED_OUT,
)


@router.get("/")
def overview(
    request: Request, session: Annotated[Session, Depends(ANYONE)], hours: int = 0
) -> Response:
    if not session.user.has(Role.OPERATOR, Role.AUDITOR):
        return redirect("/admin/users")
    dash = dashboard(request)
    hours = hours if hours in WINDOWS else 0
    now = dash.clock()
    since = triage.last_working_day_start(now) if hours == 0 else now - timedelta(hours=hours)
    ledger = dash.runtime.ledger
    engine = ledger.engine
    wanted = triage.Filters(states=list(triage.ATTENTION), since=since.astimezone(LONDON).date())
    newest = [ledger.items.get(i) for i in triage.find(engine, wanted, limit=NEWEST)]
    groups = triage.groups(engine, since)
    recent = ledger.runs.list(since=since, limit=10_000)
    by_outcome = Counter(run.status for run in recent)
    items = ledger.items.count_by_state()
    history = ledger.runs.list(since=now - timedelta(days=15), limit=50_000)
    chart = runs_per_day(history, today=now.astimezone(LONDON).date())
    return render(
        request,
        session,
        "pages/overview.html",
        title="What needs attention",
        newest=newest,
        groups=groups,
        attention_total=triage.count(engine, wanted),
        attention_query=f"state=failed&state=needs_review&from={wanted.since}",
        failed_count=sum(g.failed for g in groups),
        review_count=sum(g.review for g in groups),
        hours=hours,
        windows=WINDOWS,
        since=since,
        total_runs=len(recent),
        by_outcome=[(status, by_outcome.get(status, 0)) for status in RunStatus],
        items_by_state=[(state, items.get(state, 0)) for state in ItemState],
        attention_items=items.get(ItemState.FAILED, 0) + items.get(ItemState.NEEDS_REVIEW, 0),
        missed=[r for r in recent if r.status is RunStatus.MISSED],
        problems=[r for r in recent if r.status in PROBLEMS],
        queued=len(ledger.runs.list(statuses=[RunStatus.QUEUED], limit=1000)),
        approvals=len(dash.approvals.pending()),
        drifted=sum(check.status == "drift" for check in latest_checks(request)),
        chart=chart,
    )
