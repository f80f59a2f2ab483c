"""The preflight: before a run's first item, check the screens of the apps it uses.

A drifted app stops the run at once (FAILED, nothing ingested or claimed) instead of
failing every item one by one after its retries. By default scheduled runs do it and
manual runs do not; ``preflight:`` of an app (apps.yaml) or of a bot (its config) says
otherwise. A check that cannot be completed (app down, sign-in refused) does not stop
the run: that is not drift, and the run meets and reports the problem itself.
"""

from __future__ import annotations

from loguru import logger

from borough.config.models import BotConfig, Preflight
from borough.context import RunContext
from borough.drift.check import check_in_run, declares_screens
from borough.drift.report import DriftReport
from borough.errors import AppDriftError

SCHEDULED_TRIGGERS = ("schedule:", "run-now:", "event:")


def wanted(mode: Preflight, trigger: str, schedule: str | None) -> bool:
    if mode == "never":
        return False
    if mode == "always":
        return True
    return schedule is not None or trigger.startswith(SCHEDULED_TRIGGERS)


def apps_to_check(
    ctx: RunContext, bot_config: BotConfig | None, trigger: str, schedule: str | None
) -> list[str]:
    """The bot's apps that declare screens and whose preflight setting asks for this run."""
    if bot_config is None:
        return []
    config = ctx.runtime.config
    chosen = []
    for name in bot_config.apps:
        mode = bot_config.preflight or config.app(name).preflight
        if declares_screens(ctx.runtime, name) and wanted(mode, trigger, schedule):
            chosen.append(name)
    return chosen


def preflight(
    ctx: RunContext, bot_config: BotConfig | None, trigger: str, schedule: str | None
) -> list[DriftReport]:
    """Check each app the run should check; raise :class:`AppDriftError` if one drifted."""
    reports = [check_in_run(ctx, app) for app in apps_to_check(ctx, bot_config, trigger, schedule)]
    for report in reports:
        if report.status == "error":
            logger.bind(action="app.check").warning(
                "preflight: {}; the run goes on", report.summary()
            )
    drifted = [r for r in reports if r.status == "drift"]
    if drifted:
        names = tuple(r.app for r in drifted)
        ctx.runtime.ledger.runs.update_detail(ctx.run_id, drift=list(names))
        how = " and ".join(
            f"review with `borough check app {n}`, accept a fix with "
            f"`borough check app {n} --accept`"
            for n in names
        )
        raise AppDriftError(
            "stopped before any item: " + "; ".join(r.summary() for r in drifted) + f". {how}",
            apps=names,
        )
    return reports
