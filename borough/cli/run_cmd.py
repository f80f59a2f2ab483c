"""``borough run BOT``: ingest, work and summarise one run, with a progress bar."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from borough.cli._common import (
    console,
    deprecated,
    err_console,
    errors_reported,
    fail,
    flag,
    opened_runtime,
    stop_on_sigterm,
    usage,
    verb_app,
)
from borough.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from borough.ledger import RunRecord


def parse_inputs(values: list[str]) -> dict[str, str]:
    inputs: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep:
            name, path = "csv" if value.lower().endswith(".csv") else "file", value
        if not name or not path:
            usage(f"--input {value!r}: write NAME=PATH, e.g. --input csv=exports/today.csv")
        inputs[name.strip()] = path.strip()
    return inputs


app = verb_app()


@app.command("run")
def run(
    bot: Annotated[str, typer.Argument(metavar="BOT", help="the bot's name (see config/bots/)")],
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            metavar="NAME=PATH",
            help="replaces an input of the bot's config (repeat for several)",
        ),
    ] = None,
    dry_run: Annotated[
        bool, flag("--dry-run", help="read and validate the inputs; touch nothing")
    ] = False,
    max_items: Annotated[
        int | None,
        typer.Option(metavar="N", min=1, help="stop after working N items; the next run goes on"),
    ] = None,
    limit: Annotated[int | None, typer.Option(hidden=True, min=1)] = None,
    trigger: Annotated[str, typer.Option(hidden=True)] = "manual",
    schedule: Annotated[str | None, typer.Option(hidden=True)] = None,
    fire_time: Annotated[str | None, typer.Option(hidden=True)] = None,
    run_id: Annotated[str | None, typer.Option(hidden=True)] = None,
    quiet: Annotated[bool, flag("--quiet", "-q", help="no progress bar")] = False,
    no_wait: Annotated[
        bool, flag("--no-wait", help="fail at once if a licence seat the bot needs is taken")
    ] = False,
) -> None:
    """Run a bot now: work each input row exactly once.

    Every input row is recorded before any is worked; each is worked once, and a summary
    says what happened. The run takes a licence seat on every app of the bot with
    `max_sessions`; if one is taken it waits (saying who holds it) unless `--no-wait` is
    given. Exit code 0: all done; 1: finished with failed or needs-review items (a dry run:
    rows that would fail); 3: the run could not complete (stopped, cancelled, stopped
    itself after losing its lease, no free seat, config, input).
    """
    from borough.cli._render import (
        ProgressObserver,
        QuietObserver,
        items_table,
        summary_table,
        where_to_look,
    )
    from borough.errors import SeatUnavailableError
    from borough.item_worker import RunCancelled
    from borough.ledger import ItemState
    from borough.runner import RunRequest, run_bot

    if limit is not None:  # the old name: `--limit` now means "show at most N rows" only
        deprecated("run --limit", "run --max-items")
        max_items = max_items or limit
    request = RunRequest(
        bot=bot,
        inputs=parse_inputs(inputs or []),
        dry_run=dry_run,
        trigger=trigger,
        schedule=schedule,
        fire_time=datetime.fromisoformat(fire_time) if fire_time else None,
        run_id=run_id,
        limit=max_items,
        wait_for_seats=not no_wait,
    )
    stop_on_sigterm()
    with opened_runtime() as runtime, errors_reported():
        observer = QuietObserver(err_console) if quiet else ProgressObserver(console)
        try:
            record = run_bot(runtime, request, observer)
        except SeatUnavailableError as exc:
            fail(str(exc))
        except (KeyboardInterrupt, RunCancelled):
            if observer.waited_for_seat:
                fail("stopped while waiting for a licence seat; nothing was recorded")
            raise
        finally:
            observer.stop()
        if dry_run:
            _print_preview(observer.previews)
            _print_plans(observer.plans)
        console.print(summary_table(record))
        if record.error:
            console.print(f"[red]The run stopped: {escape(record.error)}[/]")
        problems = runtime.ledger.items.list(
            bot=bot, run_id=record.id, states=[ItemState.FAILED, ItemState.NEEDS_REVIEW], limit=20
        )
        if problems and not dry_run:
            console.print(items_table(problems, title="Items that need attention"))
            console.print(
                "Fix the data and `borough items retry ID`, or "
                "`borough items resolve ID --as done|failed|skipped|retry --reason ...`"
            )
        if not dry_run:
            console.print("\n".join(where_to_look(runtime, record)), style="dim")
    raise typer.Exit(int(exit_code(record)))


def _print_preview(previews: list[tuple[str, object, str | None]]) -> None:
    from rich.table import Table

    if not previews:
        return
    table = Table(title="Dry run: what a real run would do", title_justify="left")
    for column in ("source", "would", "note"):
        table.add_column(column, overflow="fold")
    for kind, new, note in previews:
        would = {"new": "process", "invalid": "record as FAILED", "known": "leave"}[kind]
        label = f"already in ledger ({note})" if kind == "known" else (note or "")
        table.add_row(escape(getattr(new, "source", "") or ""), would, escape(label))
    console.print(table)


def _print_plans(plans: list[tuple[str, list[str]]]) -> None:
    """A recipe's steps for the first rows (personal values shown as their category)."""
    for source, lines in plans:
        console.print(f"\n[bold]Steps for {escape(source)}[/]")
        for number, line in enumerate(lines, start=1):
            console.print(f"  {number:>2}. {escape(line)}", soft_wrap=True)


def exit_code(record: RunRecord) -> ExitCode:
    """0 all done; 1 finished with items to look at (or, dry, rows that would fail); else 3."""
    from borough.ledger import RunStatus

    counts = record.counts
    problems = counts.failed + counts.needs_review
    if record.status is RunStatus.COMPLETED_WITH_FAILURES:
        return ExitCode.ITEMS_FAILED
    if record.status in (RunStatus.SUCCEEDED, RunStatus.DRY_RUN):
        return ExitCode.ITEMS_FAILED if problems else ExitCode.OK
    return ExitCode.ERROR
