"""``borough schedules list|status|sync|pause|resume|run-now``: the operator's schedules.

The scheduler service itself is ``borough serve scheduler``; these commands work with or
without one running (a running one applies the changes and answers within a second).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from borough.cli._common import (
    console,
    errors_reported,
    flag,
    local,
    noun_app,
    opened_runtime,
    opened_view,
)
from borough.cli._json import JsonFlag, emit

if TYPE_CHECKING:
    from rich.table import Table

    from borough.ledger import RunRecord
    from scheduler.events.view import TriggerRow
    from scheduler.operate import ScheduleRow
    from scheduler.service import StartupReport
    from scheduler.syncplan import SyncPlan

app = noun_app("schedules")

NameArg = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        help="a schedule's or an event trigger's name (see `borough schedules list`)",
    ),
]
NO_SCHEDULER = "[yellow]No scheduler is running[/] (start one: `borough serve scheduler`)."


@app.command("list")
def list_schedules(as_json: JsonFlag = False) -> None:
    """Every schedule (next fire in UK local time, state, last outcome) and every event
    trigger (what it watches, state, last event, working window, last outcome)."""
    from rich.table import Table

    from scheduler.operate import Operator

    with opened_view() as runtime, errors_reported():
        operator = Operator(runtime, actor="list")
        holder = operator.holder()
        rows = operator.rows()
        triggers = operator.trigger_rows()
        if as_json:
            emit(
                {
                    "scheduler": holder,
                    "schedules": [_schedule_json(row) for row in rows],
                    "triggers": [_trigger_json(row) for row in triggers],
                }
            )
            return
        if holder is None:
            console.print(NO_SCHEDULER)
        else:
            console.print(f"Scheduler running: pid {holder.get('pid')} on {holder.get('host')}")
        if not rows and not triggers:
            console.print(f"No schedules or triggers in {operator.schedules.file}.")
            return
        if triggers:
            console.print(_triggers_table(triggers))
        if not rows:
            return
        table = Table(title_justify="left")
        for column in (
            "schedule",
            "bot",
            "when",
            "next fire (UK)",
            "state",
            "last outcome",
            "queue",
        ):
            table.add_column(column, overflow="fold")
        for row in rows:
            queue = _queue_text(row.running, row.queued)
            if row.queued and row.waiting_for:
                queue += f" (waiting for {row.waiting_for})"
            table.add_row(
                row.name,
                row.bot,
                row.when,
                local(row.next_fire),
                _state_text(row.state),
                _last_text(row.last),
                queue,
            )
        console.print(table)


def _triggers_table(rows: list[TriggerRow]) -> Table:
    from rich.table import Table

    table = Table(title="Event triggers", title_justify="left")
    for column in ("trigger", "bot", "watches", "state", "last event", "window", "last outcome",
                   "queue"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.name,
            row.bot,
            f"{row.kind}: {row.watches}",
            _state_text(row.state),
            local(row.last_event) if row.last_event else "-",
            row.window,
            _last_text(row.last),
            _queue_text(row.running, row.queued),
        )
    return table


def _state_text(state: str) -> str:
    style = {"paused": "yellow", "not synced": "yellow", "removed": "red"}.get(state)
    return f"[{style}]{state}[/]" if style else state


def _last_text(run: RunRecord | None) -> str:
    from borough.cli._render import status_text

    if run is None:
        return "-"
    when = run.ended_at or run.fire_time or run.created_at
    return f"{status_text(run.status)} {local(when)}"


def _queue_text(running: int, queued: int) -> str:
    parts = [f"{running} running" if running else "", f"{queued} queued" if queued else ""]
    return ", ".join(filter(None, parts))


@app.command("pause")
def pause(name: NameArg) -> None:
    """Stop firing a schedule until it is resumed (fires while paused are not missed), or
    stop a trigger looking for events (they wait, and start runs once it is resumed)."""
    _change("pause", name)


@app.command("resume")
def resume(name: NameArg) -> None:
    """Fire a paused schedule again, from its next fire time after now; or let a paused
    trigger take the events that waited."""
    _change("resume", name)


@app.command("run-now")
def run_now(name: NameArg) -> None:
    """Queue a run of the schedule's bot now; the scheduler starts it when seats allow."""
    from borough.audit.trail import operator_actor
    from scheduler.operate import Operator

    with opened_runtime() as runtime, errors_reported():
        operator = Operator(runtime, actor=operator_actor())
        record = operator.run_now(name)
        console.print(f"Run {record.id} of {record.bot} queued.")
        if operator.holder() is None:
            console.print(
                "[yellow]No scheduler is running[/]: it starts when one does "
                f"(`borough serve scheduler`), or run it yourself with `borough run {record.bot}`."
            )


def _change(verb: str, name: str) -> None:
    from borough.audit.trail import operator_actor
    from scheduler.operate import Operator

    with opened_runtime() as runtime, errors_reported():
        operator = Operator(runtime, actor=operator_actor())
        message = operator.pause(name) if verb == "pause" else operator.resume(name)
        console.print(message)


@app.command("sync")
def sync(
    dry_run: Annotated[
        bool, flag("--dry-run", help="show the differences; change nothing")
    ] = False,
) -> None:
    """Make the schedule store match config/schedules.yaml, and show what changed.

    Bot configs and apps.yaml (licence seats) are read again too; a running scheduler
    applies the change without a restart.
    """
    from borough.audit.trail import operator_actor
    from scheduler.operate import Operator

    with opened_runtime() as runtime, errors_reported():
        operator = Operator(runtime, actor=operator_actor())
        plan = operator.plan()
        print_plan(plan)
        if dry_run or plan.empty:
            if plan.empty:
                console.print("The store already matches schedules.yaml.")
            return
        console.print(operator.sync())


@app.command("status")
def status(as_json: JsonFlag = False) -> None:
    """Whether a scheduler is running on this store, and how many runs are queued or running."""
    from sqlalchemy.engine import make_url

    from borough.ledger import RunStatus
    from scheduler.operate import Operator

    with opened_view() as runtime, errors_reported():
        operator = Operator(runtime, actor="status")
        holder = operator.holder()
        runs = runtime.ledger.runs
        queued = runs.list(statuses=[RunStatus.QUEUED], limit=1000)
        running = runs.list(statuses=[RunStatus.RUNNING], limit=1000)
        store = make_url(operator.store_url).render_as_string()
        triggers = operator.trigger_rows()
        paused = [row.name for row in triggers if row.state == "paused"]
        active = sum(1 for row in triggers if row.state == "active")
        if as_json:
            emit(
                {
                    "scheduler": holder,
                    "store": store,
                    "queued": len(queued),
                    "running": len(running),
                    "triggers": {"total": len(triggers), "active": active, "paused": paused},
                }
            )
            return
        if holder is None:
            console.print(NO_SCHEDULER)
        else:
            console.print(
                f"[green]Scheduler running[/]: pid {holder.get('pid')} on {holder.get('host')} "
                f"since {holder.get('since')} UTC"
            )
        console.print(f"store: {store}")
        console.print(f"{len(queued)} run(s) queued, {len(running)} running")
        if triggers:
            console.print(
                f"{len(triggers)} event trigger(s): {active} active"
                + (f", paused: {', '.join(paused)}" if paused else "")
            )


def _schedule_json(row: ScheduleRow) -> dict[str, Any]:
    from borough.cli._json import run_json

    return {
        "schedule": row.name,
        "bot": row.bot,
        "when": row.when,
        "calendar": row.calendar,
        "next_fire": row.next_fire,
        "state": row.state,
        "priority": row.priority,
        "last": run_json(row.last) if row.last is not None else None,
        "queued": row.queued,
        "running": row.running,
        "waiting_for": row.waiting_for,
    }


def _trigger_json(row: TriggerRow) -> dict[str, Any]:
    from borough.cli._json import run_json

    return {
        "trigger": row.name,
        "bot": row.bot,
        "kind": row.kind,
        "watches": row.watches,
        "state": row.state,
        "last_event": row.last_event,
        "window": row.window,
        "last": run_json(row.last) if row.last is not None else None,
        "queued": row.queued,
        "running": row.running,
    }


def print_plan(plan: SyncPlan) -> None:
    for name in plan.added:
        console.print(f"[green]+ {name}[/]  {plan.details[name]}")
    for name in plan.changed:
        console.print(f"[yellow]~ {name}[/]  {plan.details[name]}")
    for name in plan.removed:
        console.print(f"[red]- {name}[/]  {plan.details[name]}")
    if plan.unchanged:
        console.print(f"[dim]= {len(plan.unchanged)} unchanged[/]")


def print_startup(report: StartupReport) -> None:
    """What a starting scheduler found: the sync, missed fires, catch-up runs, adoptions."""
    from rich.table import Table

    print_plan(report.plan)
    if report.missed:
        table = Table(
            title="Missed while no scheduler ran (recorded as MISSED)", title_justify="left"
        )
        for column in ("schedule", "fire time (UK)", "run", "why"):
            table.add_column(column, overflow="fold")
        for run in report.missed:
            count = run.detail.get("missed_count")
            why = (run.error or "") + (f" (and {count - 1} earlier)" if count else "")
            table.add_row(run.schedule or "", local(run.fire_time), run.id, why)
        console.print(table)
    for run in report.caught_up:
        console.print(
            f"Catch-up run {run.id} queued for {run.schedule} (fire time {local(run.fire_time)})"
        )
    if report.adopted:
        console.print(
            f"Took over {len(report.adopted)} run(s) still running: {', '.join(report.adopted)}"
        )
