"""Caseflow's reporting view -> the revenues system's change table, by SQL on both sides.

Many legacy systems offer a read-only reporting database that is easier to read than their
screens. This bot reads open cases from Caseflow's ``case_report`` view (app
``caseflow-report``, ``kind: database``) and writes each as one row of the revenues
system's ``ctr_changes`` table (app ``revenues-db``), in one transaction per case. A case
already there (found by its case reference) is not written again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from borough import Bot, Item, RunContext
from connectors.database import DatabaseConnector


class ReportedCase(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    case_ref: str
    claim_ref: str
    account: str
    change_type: str
    effective_date: str
    weekly_pence: int | None = None


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_app: str = "caseflow-report"
    target_app: str = "revenues-db"
    pause_seconds: float = Field(
        default=0.0, ge=0, description="tests: pause before and after each commit"
    )


class CaseReportToRevenuesDb(Bot[ReportedCase]):
    name: ClassVar[str] = "case-report-to-revenues-db"
    version: ClassVar[str] = "1.0.0"
    description: ClassVar[str] = "open Caseflow cases from its reporting view into revenues"
    schema = ReportedCase
    settings_model = Settings
    declares_intent: ClassVar[bool] = True  # failures before the insert are retried plainly

    def _db(self, ctx: RunContext, app: str) -> DatabaseConnector:
        return ctx.app(app, DatabaseConnector)

    def setup(self, ctx: RunContext) -> None:
        """A target app with a ``prepare`` query (the demo's SQLite file) runs it first."""
        target = self._db(ctx, ctx.settings.target_app)
        if "prepare" in target.settings.queries:
            with target.transaction() as db:
                db.execute("prepare")

    def items(self, ctx: RunContext) -> Iterator[Item[ReportedCase]]:
        for row in self._db(ctx, ctx.settings.source_app).rows("open_cases", status="Open"):
            case = ReportedCase.model_validate(row)
            yield Item(key=case.case_ref, data=case)

    def process(self, ctx: RunContext, item: Item[ReportedCase]) -> str:
        case = item.data
        assert case is not None
        target = self._db(ctx, ctx.settings.target_app)
        ctx.intent("insert", target=ctx.settings.target_app)
        with target.transaction() as db:
            db.execute("insert_change", **case.model_dump())
            if ctx.settings.pause_seconds:
                time.sleep(ctx.settings.pause_seconds)
            row = db.one("find_change", case_ref=case.case_ref)
        if ctx.settings.pause_seconds:  # and between the database's commit and the ledger's
            time.sleep(ctx.settings.pause_seconds)
        assert row is not None
        return f"CTR-{row['id']}"

    def find_existing(self, ctx: RunContext, item: Item[ReportedCase]) -> str | None:
        row = self._db(ctx, ctx.settings.target_app).one("find_change", case_ref=item.key)
        return None if row is None else f"CTR-{row['id']}"
