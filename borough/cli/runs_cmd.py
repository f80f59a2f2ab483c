"""``borough runs list|show``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from borough.cli._common import console, local, opened_runtime, parse_when

app = typer.Typer(help="Look at runs: when, why, and how they ended.", no_args_is_help=True)


@app.command("list")
def list_runs(
    bot: Annotated[str | None, typer.Option(help="only this bot")] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="only failed, crashed, timed-out and missed runs")
    ] = False,
    since: Annotated[str | None, typer.Option(help="e.g. 24h, 7d or 2026-11-23")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 30,
) -> None:
    """Recent runs, newest first (times in UK local time)."""
    from borough.cli._render import runs_table
    from borough.ledger import RunStatus

    statuses = None
    if failed:
        statuses = [
            RunStatus.FAILED,
            RunStatus.CRASHED,
            RunStatus.TIMED_OUT,
            RunStatus.MISSED,
            RunStatus.COMPLETED_WITH_FAILURES,
        ]
    with opened_runtime() as runtime:
        runs = runtime.ledger.runs.list(
            bot=bot, statuses=statuses, since=parse_when(since), limit=limit
        )
        if not runs:
            console.print("No runs match.")
            return
        console.print(runs_table(runs))


@app.command("show")
def show_run(run_id: Annotated[str, typer.Argument(help="run id (or a unique prefix)")]) -> None:
    """One run: its outcome, counts and the items it touched."""
    from borough.cli._render import items_table, status_text, summary_table, where_to_look

    with opened_runtime() as runtime:
        run = runtime.ledger.runs.get(run_id)
        console.print(f"[bold]{run.bot}[/] {run.bot_version} — {status_text(run.status)}")
        console.print(
            f"trigger {run.trigger}" + (f" (schedule {run.schedule})" if run.schedule else "")
        )
        if run.fire_time:
            console.print(f"fire time {local(run.fire_time)}")
        process = f" (pid {run.pid})" if run.pid else ""
        console.print(
            f"started {local(run.started_at)}, ended {local(run.ended_at)} on {run.host}{process}"
        )
        if run.error:
            console.print(f"[red]{escape(run.error)}[/]")
        console.print(summary_table(run))
        items = runtime.ledger.items.list(run_id=run.id, limit=200)
        if items:
            console.print(items_table(items, title="Items"))
        console.print("\n".join(where_to_look(runtime, run)), style="dim")
