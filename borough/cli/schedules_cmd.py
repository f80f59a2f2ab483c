"""``borough schedules list|pause|resume|run-now``: operators' view of the schedules."""

from __future__ import annotations

from typing import Annotated

import typer

from borough.cli._common import console, errors_reported, local, opened_runtime

app = typer.Typer(help="See, pause, resume and run schedules.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="the schedule's name (see `borough schedules list`)")]


@app.command("list")
def list_schedules() -> None:
    """Every schedule: next fire (UK local time), calendar, state and last outcome."""
    from rich.table import Table

    from borough.cli._render import status_text
    from scheduler.operate import Operator

    with opened_runtime() as runtime, errors_reported():
        operator = Operator(runtime, actor="list")
        holder = operator.holder()
        rows = operator.rows()
        if holder is None:
            console.print("[yellow]No scheduler is running[/] (`borough scheduler start`).")
        else:
            console.print(f"Scheduler running: pid {holder.get('pid')} on {holder.get('host')}")
        if not rows:
            console.print(f"No schedules in {operator.schedules.file}.")
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
            last = "-"
            if row.last is not None:
                when = row.last.ended_at or row.last.fire_time or row.last.created_at
                last = f"{status_text(row.last.status)} {local(when)}"
            queue = ""
            if row.running:
                queue = f"{row.running} running"
            if row.queued:
                queue = ", ".join(filter(None, [queue, f"{row.queued} queued"]))
                if row.waiting_for:
                    queue += f" (waiting for {row.waiting_for})"
            style = {"paused": "yellow", "not synced": "yellow", "removed": "red"}.get(row.state)
            state = f"[{style}]{row.state}[/]" if style else row.state
            table.add_row(row.name, row.bot, row.when, local(row.next_fire), state, last, queue)
        console.print(table)


@app.command("pause")
def pause(name: NameArg) -> None:
    """Stop firing a schedule until it is resumed (fires while paused are not missed)."""
    _change("pause", name)


@app.command("resume")
def resume(name: NameArg) -> None:
    """Fire a paused schedule again, from its next fire time after now."""
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
                f"(`borough scheduler start`), or run it yourself with `borough run {record.bot}`."
            )


def _change(verb: str, name: str) -> None:
    from borough.audit.trail import operator_actor
    from scheduler.operate import Operator

    with opened_runtime() as runtime, errors_reported():
        operator = Operator(runtime, actor=operator_actor())
        message = operator.pause(name) if verb == "pause" else operator.resume(name)
        console.print(message)
