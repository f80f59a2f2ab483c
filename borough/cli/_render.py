"""Rich rendering shared by commands: run progress, run summary, item tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from borough.cli._common import local
from borough.ledger import ItemRecord, ItemState, RunRecord, RunStatus
from borough.observe import RunObserver

if TYPE_CHECKING:
    from borough.runtime import Runtime
    from borough.view import LedgerView

STATE_STYLE = {
    ItemState.DONE: "green",
    ItemState.FAILED: "red",
    ItemState.NEEDS_REVIEW: "yellow",
    ItemState.SKIPPED: "dim",
    ItemState.PENDING: "cyan",
    ItemState.CLAIMED: "cyan",
    ItemState.IN_FLIGHT: "magenta",
}
STATUS_STYLE = {
    RunStatus.SUCCEEDED: "green",
    RunStatus.COMPLETED_WITH_FAILURES: "yellow",
    RunStatus.FAILED: "red",
    RunStatus.CRASHED: "red",
    RunStatus.TIMED_OUT: "red",
    RunStatus.MISSED: "red",
    RunStatus.CANCELLED: "yellow",
    RunStatus.RUNNING: "cyan",
    RunStatus.QUEUED: "cyan",
    RunStatus.DRY_RUN: "blue",
}


def state_text(state: ItemState) -> str:
    return f"[{STATE_STYLE[state]}]{state.value.upper()}[/]"


def status_text(status: RunStatus) -> str:
    return f"[{STATUS_STYLE[status]}]{status.value.upper()}[/]"


class QuietObserver(RunObserver):
    """What a ``--quiet`` run still shows: why it waits (which seat, held by which run)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.waited_for_seat = False
        self.previews: list[Any] = []
        self.plans: list[tuple[str, list[str]]] = []

    def on_plan(self, plans: list[tuple[str, list[str]]]) -> None:
        self.plans = plans

    def on_seat_wait(self, message: str) -> None:
        self.waited_for_seat = True
        self.console.print(
            f"[yellow]Waiting:[/] {escape(message)}. Ctrl+C to give up (nothing is recorded "
            "until the seat is free); `--no-wait` fails at once instead.",
            soft_wrap=True,
        )

    def stop(self) -> None:
        """Nothing to stop."""


class ProgressObserver(QuietObserver):
    """A progress bar while items are worked, with live done/failed/review counts."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[tally]}"),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None
        self.new = 0
        self.known = 0
        self.tally = {ItemState.DONE: 0, ItemState.FAILED: 0, ItemState.NEEDS_REVIEW: 0}

    def on_run_started(self, run_id: str, bot: str) -> None:
        self.console.print(f"Run [bold]{run_id}[/] of [bold]{bot}[/]")

    def on_ingested(self, item: ItemRecord) -> None:
        self.new += 1

    def on_known(self, item: ItemRecord) -> None:
        self.known += 1

    def on_work_started(self, pending: int) -> None:
        self.console.print(
            f"Recorded {self.new} new item(s) in the ledger; {self.known} already known; "
            f"{pending} to work."
        )
        if pending == 0:
            return
        self.progress.start()
        self.task = self.progress.add_task("working", total=pending, tally="")

    def on_item(self, item_id: int, state: ItemState, message: str | None) -> None:
        if self.task is None:
            return
        if state in self.tally:
            self.tally[state] += 1
        tally = "  ".join(f"{s.value}: {n}" for s, n in self.tally.items() if n)
        advance = 1 if state.terminal else 0
        self.progress.update(self.task, advance=advance, tally=tally, description="working")

    def on_wait(self, seconds: float) -> None:
        if self.task is not None:
            self.progress.update(self.task, description=f"waiting {seconds:.0f}s for retries")

    def on_preview(self, previews: list[Any]) -> None:
        self.previews = previews

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()


def summary_table(run: RunRecord) -> Table:
    counts = run.counts
    table = Table(title=f"Run {run.id} — {status_text(run.status)}", title_justify="left")
    for column in (
        "done",
        "failed",
        "needs review",
        "skipped",
        "already done",
        "new",
        "retries",
        "recovered",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        f"[green]{counts.done}[/]",
        f"[red]{counts.failed}[/]",
        f"[yellow]{counts.needs_review}[/]",
        str(counts.skipped),
        str(counts.already_done),
        str(counts.ingested),
        str(counts.retried),
        str(counts.recovered),
    )
    return table


def items_table(
    items: list[ItemRecord], *, title: str | None = None, show_key: bool = False
) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("id", justify="right")
    table.add_column("state")
    table.add_column("try", justify="right")
    if show_key:
        table.add_column("key")
    table.add_column("item token")
    table.add_column("source")
    table.add_column("reference / reason", overflow="fold")
    table.add_column("updated")
    for item in items:
        row = [str(item.id), state_text(item.state), str(item.attempt)]
        if show_key:
            row.append(escape(item.key or ""))
        row += [
            item.key_token,
            escape(item.source or ""),
            escape(item.reference or item.error or item.resolution or ""),
            local(item.updated_at),
        ]
        table.add_row(*row)
    return table


def runs_table(runs: list[RunRecord]) -> Table:
    table = Table(title_justify="left")
    for column in (
        "run",
        "bot",
        "status",
        "trigger",
        "started (UK)",
        "ended (UK)",
        "done",
        "failed",
        "review",
    ):
        table.add_column(column)
    for run in runs:
        table.add_row(
            run.id,
            run.bot,
            status_text(run.status),
            run.trigger,
            local(run.started_at or run.fire_time or run.created_at),
            local(run.ended_at),
            str(run.counts.done),
            str(run.counts.failed),
            str(run.counts.needs_review),
        )
    return table


def where_to_look(runtime: Runtime | LedgerView, run: RunRecord) -> list[str]:
    paths = runtime.paths
    return [
        f"ledger:    {runtime.ledger.url}  (`borough items list --run {run.id}`)",
        f"audit:     {paths.audit / 'audit.jsonl'}  (`borough audit verify`)",
        f"run log:   {paths.runs / (run.id + '.log')}",
        f"evidence:  {paths.evidence / run.id}",
    ]
