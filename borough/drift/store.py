"""Drift checks and baselines in the ledger database, with their own version key.

Kept beside the ledger's tables (one database to back up, PostgreSQL when scaled out, so
the dashboard on any host sees every check) under their own metadata and version, like
the dashboard's tables: an installation that never checks an app never has them.

* ``borough_drift_checks``: every check and every accepted fix (the dashboard's panel);
* ``borough_drift_baseline``: per declared element, what it looked like when it last
  matched — what the next check compares candidates with when the element is gone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
)

from borough.drift.report import DriftReport, report_from
from borough.ledger import migrate
from borough.ledger.schema import UTCDateTime

SCHEMA_VERSION = 1
VERSION_KEY = "drift_schema_version"
Baseline = dict[tuple[str, str], dict[str, Any]]

metadata = MetaData()

checks = Table(
    "borough_drift_checks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),  # ok | drift | error | accepted
    Column("trigger", String(40), nullable=False),  # check | preflight | accept
    Column("run_id", String(40)),
    Column("actor", String(200), nullable=False),
    Column("summary", Text, nullable=False),
    Column("report", Text, nullable=False),
    Index("ix_drift_checks_app", "app", "id"),
)

baseline = Table(
    "borough_drift_baseline",
    metadata,
    Column("app", String(100), primary_key=True),
    Column("screen", String(200), primary_key=True),
    Column("element", String(200), primary_key=True),
    Column("locator", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True)
class CheckRow:
    """One stored check (or accepted fix) of an app."""

    id: int
    app: str
    at: datetime
    status: str
    trigger: str
    run_id: str | None
    actor: str
    summary: str
    data: dict[str, Any]

    @property
    def report(self) -> DriftReport | None:
        return report_from(self.data) if self.status != "accepted" else None


class DriftBook:
    """Reads and writes drift checks and baselines (tables created on first use)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate.prepare_tables(
            engine,
            metadata,
            key=VERSION_KEY,
            version=SCHEMA_VERSION,
            what="drift part of the ledger",
        )

    def record(
        self,
        report: DriftReport,
        *,
        trigger: str,
        actor: str,
        run_id: str | None = None,
        redact: Any = None,
    ) -> int:
        """Store a check; elements that matched become the baseline for the next one."""
        summary, data = report.summary(), report.as_dict()
        if redact is not None:
            summary, data = redact(summary), _redacted(data, redact)
        with self.engine.begin() as conn:
            row_id = conn.execute(
                checks.insert().values(
                    app=report.app,
                    at=report.checked_at,
                    status=report.status,
                    trigger=trigger,
                    run_id=run_id,
                    actor=actor,
                    summary=summary,
                    report=json.dumps(data, sort_keys=True),
                )
            ).inserted_primary_key
            for finding in report.findings:
                if finding.status != "ok" or finding.fingerprint is None:
                    continue
                key = {"app": report.app, "screen": finding.screen, "element": finding.element}
                conn.execute(
                    baseline.delete().where(
                        *(getattr(baseline.c, name) == value for name, value in key.items())
                    )
                )
                seen = finding.fingerprint
                if redact is not None:
                    seen = _redacted(seen, redact)
                conn.execute(
                    baseline.insert().values(
                        **key,
                        locator=finding.locator,
                        fingerprint=json.dumps(seen, sort_keys=True),
                        seen_at=report.checked_at,
                    )
                )
        assert row_id is not None
        return int(row_id[0])

    def record_accepted(
        self, app: str, *, actor: str, summary: str, edits: list[dict[str, Any]]
    ) -> int:
        with self.engine.begin() as conn:
            row_id = conn.execute(
                checks.insert().values(
                    app=app,
                    at=datetime.now(UTC),
                    status="accepted",
                    trigger="accept",
                    actor=actor,
                    summary=summary,
                    report=json.dumps({"edits": edits}, sort_keys=True),
                )
            ).inserted_primary_key
        assert row_id is not None
        return int(row_id[0])

    def baseline(self, app: str) -> Baseline:
        """(screen, element) -> fingerprint from when the element last matched."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(baseline).where(baseline.c.app == app)).all()
        return {(r.screen, r.element): json.loads(r.fingerprint) for r in rows}

    def latest(self) -> list[CheckRow]:
        """The newest check (or accepted fix) of every app, apps by name."""
        last = func.max(checks.c.id).label("last")
        newest = select(checks.c.app, last).group_by(checks.c.app).subquery()
        query = select(checks).join(newest, checks.c.id == newest.c.last).order_by(checks.c.app)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).all()]

    def history(self, app: str, limit: int = 20) -> list[CheckRow]:
        """The newest checks of one app, newest first."""
        query = select(checks).where(checks.c.app == app).order_by(checks.c.id.desc())
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query.limit(limit)).all()]


def _row(row: Any) -> CheckRow:
    return CheckRow(
        id=row.id,
        app=row.app,
        at=row.at,
        status=row.status,
        trigger=row.trigger,
        run_id=row.run_id,
        actor=row.actor,
        summary=row.summary,
        data=json.loads(row.report),
    )


def _redacted(value: Any, redact: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item, redact) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, redact) for item in value]
    return value
