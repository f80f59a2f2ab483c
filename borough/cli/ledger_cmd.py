"""``borough ledger reconcile``: account in the audit trail for every state of the ledger."""

from __future__ import annotations

from typing import Annotated

from rich.markup import escape
from rich.table import Table

from borough.cli._common import console, flag, noun_app, opened_runtime

app = noun_app("ledger")


@app.command("reconcile")
def reconcile(
    dry_run: Annotated[bool, flag("--dry-run", help="list what is missing; write nothing")] = False,
) -> None:
    """Reap dead runs, then write a labelled reconstruction record for every ledger state
    the audit trail does not account for (an item never recorded as ingested, a DONE item
    with no item.done, a finished run with no end record). Safe to repeat: a second pass
    finds nothing. See docs/operations.md.
    """
    from borough.reconcile import reconcile as run_reconcile

    with opened_runtime(actor="borough") as runtime:
        report = run_reconcile(runtime, dry_run=dry_run)
    for run_id in report.reaped:
        console.print(f"reaped dead run {run_id} (see `borough runs show {run_id}`)")
    if report.before_trail:
        console.print(
            f"{report.before_trail} ledger row(s) predate the trail's first record "
            "(purged by retention): not checked",
            style="dim",
        )
    if not report.gaps:
        console.print("[green]The audit trail accounts for every ledger state.[/]")
        return
    table = Table(
        title="Reconstructed records" if not dry_run else "Missing records (dry run)",
        title_justify="left",
    )
    table.add_column("record")
    table.add_column("because")
    for gap in report.gaps:
        table.add_row(gap.action, escape(gap.what))
    console.print(table)
    if dry_run:
        console.print(f"{len(report.gaps)} record(s) would be written; run without --dry-run")
    else:
        console.print(
            f"{report.written} reconstruction record(s) written (actor borough, "
            "detail.reconstructed); `borough audit verify` checks the chain"
        )
