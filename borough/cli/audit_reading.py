"""``borough audit export|sar|reindex``: reading the trail through its index.

``export`` and ``reindex`` need no passphrase (an auditor, a shipping job); ``sar`` opens the
installation to tokenise an identifier and to record the search in the trail. Every one of
them lets the index catch up with the trails readable here first, and streams.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from borough.cli._common import (
    Since,
    Until,
    console,
    deprecated,
    err_console,
    errors_reported,
    fail,
    opened_runtime,
)
from borough.cli._common import parse_when as _parse_when
from borough.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from borough.audit.browse import AuditView
    from borough.config.loader import Config
    from borough.ledger.store import AuditBooks

SAR_PAGE = 50


class Format(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"


@contextmanager
def reading_errors() -> Iterator[None]:
    """A trail that cannot be read is an error (exit 3) in one line, never a traceback."""
    from borough.errors import AuditError, LedgerError

    try:
        yield
    except (AuditError, LedgerError) as exc:
        fail(str(exc), ExitCode.ERROR)
    except OSError as exc:
        fail(f"cannot read the audit trail: {exc}", ExitCode.ERROR)


def notes(found: list[str]) -> None:
    for note in found:
        err_console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)


@contextmanager
def audit_books() -> Iterator[tuple[Config, AuditBooks]]:
    """The configuration and the ledger's audit tables, without the secret store."""
    from borough.config import load_config
    from borough.ledger.store import AuditBooks

    with errors_reported():
        config = load_config()
    with reading_errors():
        books = AuditBooks(config.ledger_url)
    try:
        yield config, books
    finally:
        books.close()


def view_of(config: Config, books: AuditBooks) -> AuditView:
    from borough.audit.browse import AuditView
    from borough.audit.fetch import TrailFolders
    from borough.host import host_name

    configured = {host: Path(p) for host, p in config.settings.audit.trails.items()}
    folders = TrailFolders(host_name(), config.paths.audit, configured, books.writers.folders)
    return AuditView(books.index, folders)


def export(
    since: Since = None,
    until: Until = None,
    fmt: Annotated[Format, typer.Option("--format", help="csv or jsonl")] = Format.csv,
    trail: Annotated[
        str | None,
        typer.Option(metavar="HOST", help="only this writer's records (a runner's host name)"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="file (default stdout)")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", hidden=True)] = None,
    to: Annotated[str | None, typer.Option("--to", hidden=True)] = None,
) -> None:
    """Records in a time range for an auditor (tokens only: no personal data in clear).

    CSV is in time order across every machine; JSON Lines keeps each machine's records in
    chain order, so that `borough audit verify FILE` can check it elsewhere.
    """
    from borough.audit.browse import range_filters
    from borough.audit.reading import write_export

    if from_ is not None or to is not None:  # the old names, for one release
        deprecated("audit export --from/--to", "audit export --since/--until")
        since, until = since or from_, until or to
    start, end = _parse_when(since), _parse_when(until)
    with audit_books() as (config, books), reading_errors():
        view = view_of(config, books).catch_up()
        filters = range_filters(start, end, trail=trail or "")
        rows = view.stream(filters, chain_order=fmt is Format.jsonl)
        if output is None:
            count = write_export(rows, sys.stdout, fmt.value)
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                count = write_export(rows, handle, fmt.value)
            console.print(f"{count} records written to {output}", style="dim")
        notes(view.notes)


def reindex(
    trail: Annotated[
        str | None, typer.Option(help="only this writer's trail (default: every one readable)")
    ] = None,
) -> None:
    """Rebuild the audit index from the trails' files (it is derived data: nothing is lost)."""
    from borough.audit.index import reindex as rebuild

    with audit_books() as (config, books), reading_errors():
        view = view_of(config, books)
        known = {view.folders.local_trail, *view.folders.configured, *books.writers.folders()}
        wanted = [trail] if trail else sorted(known)
        reachable = view.folders.reachable(wanted)
        for name in wanted:
            folder = reachable.get(name)
            if folder is None:
                err_console.print(f"[yellow]note:[/] the trail of {name} is not readable here")
                continue
            done = rebuild(books.index, name, folder)
            console.print(f"{name}: {done.added} records indexed from {folder}")


def sar(
    who: Annotated[str, typer.Argument(help="a person token (p_...) or an identifier to tokenise")],
    fmt: Annotated[
        Format | None, typer.Option("--format", help="csv or jsonl: every record, streamed")
    ] = None,
    page: Annotated[int, typer.Option(help="which page of records to show", min=1)] = 1,
) -> None:
    """Subject access request: every event and item about one person (a page at a time)."""
    from rich.table import Table

    from borough.audit.browse import AuditView, person_filters
    from borough.audit.reading import write_export
    from borough.audit.tokens import is_token
    from borough.cli._render import items_table
    from borough.errors import AuditError

    with opened_runtime(console_level=None) as runtime, reading_errors():
        token = who if is_token(who) else runtime.tokenizer.token(who)
        view = AuditView.of(runtime).catch_up()
        filters = person_filters(token)
        total = view.count(filters)
        found = None if fmt is not None else view.page(filters, page, SAR_PAGE)
        items = runtime.ledger.items.list(token=token, limit=10_000)
        try:
            runtime.trail.emit("audit.sar", subjects=[token], detail={"records": total})
        except AuditError as exc:  # a read-only or full trail: answer, and say it went unrecorded
            view.notes.append(f"this search could not be recorded in the audit trail: {exc}")
        if found is not None:
            found.notes = list(dict.fromkeys([*found.notes, *view.notes]))
        if fmt is not None:
            write_export(view.stream(filters), sys.stdout, fmt.value)
            notes(view.notes)
            return
    assert found is not None
    notes(found.notes)
    console.print(f"person token [bold]{token}[/]: {total} audit records, {len(items)} items")
    if items:
        console.print(items_table(items, title="Items"))
    pages = max(1, -(-total // SAR_PAGE))
    table = Table(
        title=f"Audit records, newest first (page {page} of {pages})", title_justify="left"
    )
    for column in ("seq", "time (UTC)", "host", "run", "bot", "action", "outcome", "actor"):
        table.add_column(column)
    for r in found.records:
        table.add_row(
            str(r["seq"]),
            r["ts"],
            r.get("host") or "",
            r.get("run_id") or "",
            r.get("bot") or "",
            r.get("action") or "",
            r.get("outcome") or "",
            r.get("actor") or "",
        )
    console.print(table)
    if found.more:
        err_console.print(f"more: `borough audit sar TOKEN --page {page + 1}`", style="dim")
