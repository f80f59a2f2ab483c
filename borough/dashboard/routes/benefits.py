"""Benefits: what the bots did in a month and the officer time it saved (from the ledger)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from borough.benefits import LONDON, BenefitsError, Month, benefit_report
from borough.benefits_csv import report_csv
from borough.dashboard.benefit_chart import hours_chart
from borough.dashboard.security import OPERATOR_OR_AUDITOR, dashboard
from borough.dashboard.store import Session
from borough.dashboard.web import render

router = APIRouter()


def _month(text: str | None) -> tuple[Month, str | None]:
    this = Month.of(datetime.now(LONDON).date())
    if not text:
        return this, None
    try:
        return Month.parse(text), None
    except BenefitsError as exc:
        return this, str(exc)


@router.get("/benefits")
def benefits_page(
    request: Request,
    session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)],
    month: str | None = None,
) -> Response:
    wanted, error = _month(month)
    runtime = dashboard(request).runtime
    report = benefit_report(runtime.ledger.engine, runtime.config, wanted)
    return render(
        request,
        session,
        "pages/benefits.html",
        title=f"Benefits, {wanted}",
        report=report,
        chart=hours_chart(report),
        error=error,
        previous=wanted.shift(-1),
        following=wanted.shift(1),
        status_code=400 if error else 200,
    )


@router.get("/benefits.csv")
def benefits_csv(
    request: Request,
    session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)],
    month: str | None = None,
) -> Response:
    wanted, error = _month(month)
    if error:
        return Response(error, status_code=400, media_type="text/plain")
    runtime = dashboard(request).runtime
    report = benefit_report(runtime.ledger.engine, runtime.config, wanted)
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="benefits-{wanted}.csv"'},
    )
