"""Apps and their screens: the newest drift check of every app that declares screens.

Read-only: a proposed fix is accepted by a person at the command line
(``borough check app NAME --accept``), where their name is recorded with it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from borough.dashboard.security import OPERATOR_OR_AUDITOR, dashboard
from borough.dashboard.store import Session
from borough.dashboard.web import render
from borough.drift.store import CheckRow, DriftBook

router = APIRouter()


def latest_checks(request: Request) -> list[CheckRow]:
    """The newest check (or accepted fix) of every app (the overview counts the drifted)."""
    return DriftBook(dashboard(request).runtime.ledger.engine).latest()


@router.get("/drift")
def drift_page(
    request: Request, session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)]
) -> Response:
    checks = latest_checks(request)
    return render(
        request,
        session,
        "pages/drift.html",
        title="Apps and their screens",
        checks=checks,
        drifted=[c for c in checks if c.status == "drift"],
    )
