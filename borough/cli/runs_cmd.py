"""``borough runs list|show``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from borough.cli._common import (
    Since,
    Until,
    console,
    flag,
    limit_option,
    local,
    noun_app,
    opened_view,
    parse_when,
)
from borough.cli._json import JsonFlag, emit, item_json, run_json

if TYPE_CHECKING:
    from borough.ledger import RunBook, RunRecord

app = noun_app("runs")


@app.command("list")
def list_runs(
    bot: Annotated[str | None, typer.Option(metavar="BOT", help="only this bot")] = None,
    failed: Annotated[
        bool, flag("--failed", help="only failed, crashed, timed-out and missed runs")
    ] = False,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, limit_option()] = 30,
    as_json: JsonFlag = False,
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
    start, end = parse_when(since), parse_when(until)
    with opened_view() as runtime:
        runs = runs_between(
            runtime.ledger.runs, start, end, bot=bot, statuses=statuses, limit=limit
        )
        if as_json:
            emit([run_json(run) for run in runs])
            return
        if not runs:
            console.print("No runs match.")
            return
        console.print(runs_table(runs))


def runs_between(
    book: RunBook,
    start: datetime | None,
    end: datetime | None,
    *,
    limit: int,
    **where: Any,
) -> list[RunRecord]:
    """Up to ``limit`` runs created in [start, end), newest first."""
    if end is None:
        return book.list(since=start, limit=limit, **where)
    found: list[RunRecord] = []
    offset, page = 0, max(limit, 200)
    while len(found) < limit:
        batch = book.list(since=start, limit=page, offset=offset, **where)
        found += [run for run in batch if run.created_at < end]
        if len(batch) < page:
            break
        offset += page
    return found[:limit]


@app.command("show")
def show_run(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="run id (or a unique prefix)")],
    as_json: JsonFlag = False,
) -> None:
    """One run: its outcome, counts and the items it touched."""
    from borough.cli._render import items_table, status_text, summary_table, where_to_look

    with opened_view() as runtime:
        run = runtime.ledger.runs.get(run_id)
        if as_json:
            items = runtime.ledger.items.list(run_id=run.id, limit=200)
            emit({**run_json(run), "items": [item_json(item) for item in items]})
            return
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
