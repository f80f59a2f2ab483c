"""Check one app's declared screens: visit them through its connector, record what changed.

The connector does the looking (it knows its kind of locator); this module decides what to
ask it, stores the report and the baseline, and writes the audit record: ``app.drift``
when declared locators no longer match, ``app.check`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from loguru import logger

from borough.drift.report import DriftReport, Finding
from borough.drift.store import Baseline, DriftBook
from borough.errors import BoroughError, ConfigError

if TYPE_CHECKING:
    from borough.audit.trail import AuditTrail
    from borough.connect import Connector
    from borough.context import RunContext
    from borough.runtime import Runtime


@runtime_checkable
class ScreenChecker(Protocol):
    """A connector that can visit its app's declared screens without touching any item."""

    def check_screens(self, baseline: Baseline) -> list[Finding]:
        """One finding per declared element (and per screen that cannot be reached)."""
        ...


def declares_screens(runtime: Runtime, app: str) -> bool:
    return bool(runtime.config.app(app).options.get("screens"))


def check_app(
    runtime: Runtime,
    app: str,
    connector: Connector,
    trail: AuditTrail,
    *,
    trigger: str = "check",
    run_id: str | None = None,
) -> DriftReport:
    """Check ``app`` through its open ``connector``; the report is stored and audited."""
    config = runtime.config.app(app)
    if not declares_screens(runtime, app):
        raise ConfigError(
            f"app {app!r} declares no screens: add a screens: block to its entry in "
            "config/apps.yaml (see docs/operations.md, 'Drift check')"
        )
    if not isinstance(connector, ScreenChecker):
        raise ConfigError(f"apps of kind {config.kind!r} cannot have their screens checked")
    book = DriftBook(runtime.ledger.engine)
    report = DriftReport(app=app, kind=config.kind)
    try:
        report.findings = connector.check_screens(book.baseline(app))
    except BoroughError as exc:
        report.error = str(exc)
    except Exception as exc:
        logger.opt(exception=exc).bind(action="app.check").warning("checking {} failed", app)
        report.error = f"{type(exc).__name__}: {exc}"
    report.checked_at = datetime.now(UTC)
    redact = runtime.redactor.redact
    actor = str(trail.context.get("actor", "borough"))
    book.record(report, trigger=trigger, actor=actor, run_id=run_id, redact=redact)
    broken = [
        {
            "screen": f.screen,
            "element": f.element,
            "locator": f.locator,
            "status": f.status,
            "proposal": f.proposal.locator if f.proposal else None,
        }
        for f in report.broken
    ]
    trail.emit(
        "app.drift" if report.status == "drift" else "app.check",
        outcome=report.status,
        target=app,
        step=trigger,
        error=redact(report.summary()) if report.status != "ok" else None,
        detail={"checked": len(report.checked), "broken": broken},
    )
    return report


@contextmanager
def opened_app(runtime: Runtime, app: str, trail: AuditTrail) -> Iterator[Connector]:
    """The app's connector opened outside any run (``borough check app``), closed after."""
    from borough.context import RunContext

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    ctx = RunContext(
        runtime=runtime, run_id=f"check-{app}-{stamp}", bot_name="check", trail=trail, inputs={}
    )
    try:
        yield ctx.app(app)
    finally:
        ctx.close()


def check_in_run(ctx: RunContext, app: str) -> DriftReport:
    """The preflight's check: through the run's own connector, which the bot then uses."""
    try:
        connector = ctx.app(app)
    except BoroughError as exc:
        report = DriftReport(app=app, kind=ctx.runtime.config.app(app).kind, error=str(exc))
        ctx.trail.emit(
            "app.check", outcome="error", target=app, step="preflight", error=report.summary()
        )
        return report
    return check_app(ctx.runtime, app, connector, ctx.trail, trigger="preflight", run_id=ctx.run_id)
