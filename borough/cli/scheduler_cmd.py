"""``borough scheduler start|sync|status``: the scheduling service (package ``scheduler``)."""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from borough.cli._common import console, errors_reported, local, opened_runtime

if TYPE_CHECKING:
    from scheduler.service import StartupReport
    from scheduler.syncplan import SyncPlan

app = typer.Typer(help="Run the scheduler and reconcile its store.", no_args_is_help=True)


@app.command("start")
def start(
    standby: Annotated[
        bool,
        typer.Option("--standby", help="wait for the active scheduler to stop, then take over"),
    ] = False,
    minutes: Annotated[
        float | None,
        typer.Option("--for", help="stop by itself after this many minutes (trials)", min=0),
    ] = None,
    leave_runs: Annotated[
        bool,
        typer.Option(
            "--leave-runs", help="on stop, let running runs finish (the next scheduler adopts them)"
        ),
    ] = False,
) -> None:
    """Run the scheduler in the foreground; Ctrl+C or SIGTERM stops it cleanly.

    It records fires missed while it was down, syncs the store with
    config/schedules.yaml, then starts each due run in its own process. Logs go to
    logs/borough.log (and each run's own log).
    """
    from scheduler.logbridge import route_library_logs
    from scheduler.service import SchedulerService

    with opened_runtime(actor="scheduler", console_level="INFO") as runtime, errors_reported():
        route_library_logs()
        service = SchedulerService(runtime)

        if standby:
            console.print("Standby: waiting for the active scheduler to stop…")
        report = service.start(standby=standby)

        def _stop(signum: int, frame: Any) -> None:
            service.request_stop()

        signal.signal(signal.SIGTERM, _stop)  # from here on, a signal means a clean stop
        signal.signal(signal.SIGINT, _stop)
        print_startup(report)
        count = len(service.schedules.active)
        console.print(f"[green]Scheduler running[/]: {count} schedule(s). Ctrl+C to stop.")
        deadline = None if minutes is None else time.monotonic() + minutes * 60
        try:
            service.serve(lambda: deadline is not None and time.monotonic() >= deadline)
        finally:
            service.stop(stop_runs=not leave_runs)
        console.print(f"Scheduler stopped; {service.ended_count} run(s) ended while it ran.")


@app.command("sync")
def sync(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show the differences; change nothing")
    ] = False,
) -> None:
    """Make the schedule store match config/schedules.yaml and show what changed."""
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
def status() -> None:
    """Whether a scheduler is running on this store, and what is queued or running."""
    from sqlalchemy.engine import make_url

    from borough.ledger import RunStatus
    from scheduler.operate import Operator

    with opened_runtime() as runtime, errors_reported():
        operator = Operator(runtime, actor="status")
        holder = operator.holder()
        if holder is None:
            console.print("[yellow]No scheduler is running[/] on this store.")
        else:
            console.print(
                f"[green]Scheduler running[/]: pid {holder.get('pid')} on {holder.get('host')} "
                f"since {holder.get('since')} UTC"
            )
        console.print(f"store: {make_url(operator.service.store_url).render_as_string()}")
        runs = runtime.ledger.runs
        queued = runs.list(statuses=[RunStatus.QUEUED], limit=1000)
        running = runs.list(statuses=[RunStatus.RUNNING], limit=1000)
        console.print(f"{len(queued)} run(s) queued, {len(running)} running")


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
