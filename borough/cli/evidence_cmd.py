"""``borough evidence list|show|export``: evidence is sealed at rest; opening it needs the
installation's keys and a purpose, and is recorded in the audit trail first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from borough.cli._common import console, fail, noun_app, opened_runtime
from borough.cli._json import JsonFlag, emit

app = noun_app("evidence")

PurposeOption = Annotated[
    str,
    typer.Option(
        "--purpose",
        help="why you need it (kept in the audit trail with your login), "
        "e.g. 'investigating the failure of item 12'",
    ),
]


@app.command("list")
def list_evidence(
    run: Annotated[str | None, typer.Option(help="only this run's evidence")] = None,
    item: Annotated[str | None, typer.Option(help="only this item's (its p_ token)")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Evidence files as the audit trail lists them, each checked against its hash
    (nothing is decrypted)."""
    from rich.table import Table

    from borough.evidence.access import listed, stored_state

    with opened_runtime() as runtime:
        run_id = runtime.ledger.runs.get(run).id if run else None
        found = listed(runtime.paths.audit, run=run_id, item=item)
        if as_json:
            emit(
                [
                    {
                        "path": captured.relative,
                        "kind": captured.kind,
                        "item": captured.item,
                        "record": captured.seq,
                        "check": stored_state(runtime.paths.logs, captured),
                    }
                    for captured in found
                ]
            )
            return
        if not found:
            console.print("No evidence matches.")
            return
        table = Table("path", "kind", "item", "record", "check", box=None)
        for captured in found:
            state = stored_state(runtime.paths.logs, captured)
            colour = {"intact": "green", "altered": "red"}.get(state, "yellow")
            table.add_row(
                escape(captured.relative),
                captured.kind,
                captured.item or "-",
                str(captured.seq),
                f"[{colour}]{state}[/]",
            )
        console.print(table)


@app.command("show")
def show(
    path: Annotated[str, typer.Argument(help="the file, as `borough evidence list` shows it")],
    purpose: PurposeOption,
    as_json: JsonFlag = False,
) -> None:
    """Print a text piece of evidence (page HTML, app state) after recording the view."""
    from borough.evidence.access import find, open_evidence

    with opened_runtime() as runtime:
        captured = find(runtime.paths.audit, path)
        if not captured.is_text:
            fail(
                f"{captured.name} is not text; write it to a file with "
                f"`borough evidence export {captured.relative} --purpose ... -o FILE`"
            )
        opened = open_evidence(runtime, runtime.trail, captured.relative, purpose=purpose)
        if as_json:
            emit({"path": captured.relative, "kind": captured.kind, "text": opened.text()})
            return
        console.print(escape(opened.text()), soft_wrap=True)


@app.command("export")
def export(
    path: Annotated[str, typer.Argument(help="the file, as `borough evidence list` shows it")],
    purpose: PurposeOption,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="where to write the decrypted file")
    ],
    force: Annotated[bool, typer.Option(help="replace OUTPUT if it exists")] = False,
) -> None:
    """Write a piece of evidence decrypted (screenshot, trace, report) to OUTPUT, private
    to you, after recording the export."""
    from borough import filemodes
    from borough.evidence.access import open_evidence

    if output.exists() and not force:
        fail(f"{output} exists; choose another file or add --force")
    with opened_runtime() as runtime:
        opened = open_evidence(runtime, runtime.trail, path, purpose=purpose, export=True)
        if output.exists():
            os.remove(output)
        filemodes.write_private(output, opened.data)
        console.print(
            f"{escape(opened.captured.relative)} -> {escape(str(output))} "
            f"({len(opened.data)} bytes; recorded in the audit trail). Delete it when done."
        )
