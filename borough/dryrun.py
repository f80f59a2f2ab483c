"""``borough run --dry-run``: read and check the inputs, compare with the ledger, touch nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from borough.bot import Bot
from borough.context import RunContext
from borough.errors import BoroughError
from borough.ingest import describe
from borough.ledger import ItemState, NewItem, RunCounts, RunRecord, RunStatus
from borough.ledger.runs import new_run_id

if TYPE_CHECKING:
    from borough.observe import RunObserver
    from borough.runtime import Runtime

PLANNED_ROWS = 3  #: a recipe's dry run shows the steps it would take for this many rows


def dry_run(
    runtime: Runtime,
    bot_cls: type[Bot[Any]],
    *,
    trigger: str,
    inputs: dict[str, Path],
    settings: Any,
    observer: RunObserver,
) -> RunRecord:
    """Preview what a run would do; the dry run is recorded (with its record) at the end."""
    run_id = new_run_id()
    trail = runtime.trail.bind(
        run_id=run_id, bot=bot_cls.name, bot_version=bot_cls.version, actor=f"bot:{bot_cls.name}"
    )
    ctx = RunContext(
        runtime=runtime,
        run_id=run_id,
        bot_name=bot_cls.name,
        trail=trail,
        inputs=inputs,
        settings=settings,
        dry_run=True,
    )
    counts = RunCounts()
    error = None
    previews: list[tuple[str, NewItem, str | None]] = []
    bot = bot_cls()
    plan = getattr(bot, "plan", None)  # a recipe says which steps it would take
    plans: list[tuple[str, list[str]]] = []
    try:
        for item in bot.items(ctx):
            new = describe(runtime, bot_cls, item)
            known = runtime.ledger.items.list(bot=bot_cls.name, token=new.key_token, limit=1)
            if known and known[0].key_token == new.key_token:
                if known[0].state is ItemState.DONE:
                    counts.already_done += 1
                previews.append(("known", new, known[0].state.value))
            elif new.invalid_reason:
                counts.failed += 1
                previews.append(("invalid", new, new.invalid_reason))
            else:
                counts.ingested += 1
                previews.append(("new", new, None))
                if plan is not None and len(plans) < PLANNED_ROWS:
                    plans.append((new.source or new.key_token, plan(item)))
    except BoroughError as exc:
        error = str(exc)
    observer_preview = getattr(observer, "on_preview", None)
    if observer_preview:
        observer_preview(previews)
    observer_plan = getattr(observer, "on_plan", None)
    if observer_plan and plans:
        observer_plan(plans)
    status = RunStatus.DRY_RUN if error is None else RunStatus.FAILED
    return runtime.ledger.runs.create(
        bot_cls.name,
        bot_cls.version,
        trigger=trigger,
        status=status,
        run_id=run_id,
        counts=counts,
        error=error,
        audit=lambda _: trail.emit(
            "run.dry_run",
            outcome="ok" if error is None else "error",
            error=error,
            detail={"counts": counts.__dict__},
        ),
    )
