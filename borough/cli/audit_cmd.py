"""``borough audit verify|export|sar|purge|public-key``: the auditor's commands."""

from __future__ import annotations

import enum
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from borough.cli._common import console, errors_reported, fail, opened_runtime, parse_when
from borough.cli.exitcodes import ExitCode

app = typer.Typer(
    help="Verify, export and search the tamper-evident audit trail.", no_args_is_help=True
)


class Format(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def _audit_folder() -> Path:
    from borough.config import load_config

    with errors_reported():
        return load_config().paths.audit


@app.command("verify")
def verify(
    public_key: Annotated[
        Path | None,
        typer.Option(help="PEM public key to verify with (default: from the secret store)"),
    ] = None,
) -> None:
    """Check every record, link and signature; name the first record that is not as written.

    Exit code 0: intact; 4: tampering or damage found; 3: the check could not run.
    """
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from borough.audit.verify import check_run_ends, verify_file

    folder = _audit_folder()
    seq_ends: list[tuple[str, int]] = []
    if public_key is not None:
        try:
            key = load_pem_public_key(public_key.read_bytes())
        except (OSError, ValueError) as exc:
            fail(f"cannot read public key {public_key}: {exc}")
    else:
        with opened_runtime(console_level=None) as runtime:
            key = runtime.keys.public_key
            seq_ends = [
                (r.id, r.audit_seq_end)
                for r in runtime.ledger.runs.list(limit=1000)
                if r.audit_seq_end
            ]
    verdict = check_run_ends(verify_file(folder, key), seq_ends)  # type: ignore[arg-type]
    if verdict.ok:
        console.print(
            f"[green]OK[/] {verdict.records} records (seq {verdict.first_seq}-{verdict.last_seq}), "
            f"{verdict.checkpoints} signed checkpoints, signed through record "
            f"{verdict.signed_through}"
        )
        for warning in verdict.warnings:
            console.print(f"[yellow]note:[/] {escape(warning)}")
        return
    problem = verdict.problem
    assert problem is not None
    where = f"record {problem.seq}" if problem.seq is not None else "trail"
    line = f", line {problem.line}" if problem.line else ""
    console.print(f"[red]TAMPERED[/] {problem.kind} at {where}{line}: {escape(problem.message)}")
    raise typer.Exit(ExitCode.TAMPERED)


@app.command("export")
def export(
    from_: Annotated[
        str | None, typer.Option("--from", help="start, e.g. 2026-11-01 or 7d")
    ] = None,
    to: Annotated[str | None, typer.Option(help="end (exclusive)")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="csv or jsonl")] = Format.csv,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file (default stdout)")
    ] = None,
) -> None:
    """Records in a time range for an auditor (tokens only: no personal data in clear)."""
    from borough.audit.reading import in_range, write_export

    rows = in_range(_audit_folder(), parse_when(from_), parse_when(to))
    if output is None:
        count = write_export(rows, sys.stdout, fmt.value)
    else:
        with output.open("w", encoding="utf-8", newline="") as handle:
            count = write_export(rows, handle, fmt.value)
        console.print(f"{count} records written to {output}", style="dim")


@app.command("sar")
def sar(
    who: Annotated[str, typer.Argument(help="a person token (p_...) or an identifier to tokenise")],
    fmt: Annotated[Format | None, typer.Option("--format", help="csv or jsonl")] = None,
) -> None:
    """Subject access request: every event and item about one person."""
    from rich.table import Table

    from borough.audit.reading import about_subject, write_export
    from borough.audit.tokens import is_token
    from borough.cli._render import items_table

    with opened_runtime(console_level=None) as runtime:
        token = who if is_token(who) else runtime.tokenizer.token(who)
        records = list(about_subject(runtime.paths.audit, token))
        items = runtime.ledger.items.list(token=token, limit=10_000)
        runtime.trail.emit("audit.sar", subjects=[token], detail={"records": len(records)})
    if fmt is not None:
        write_export(iter(records), sys.stdout, fmt.value)
        return
    console.print(
        f"person token [bold]{token}[/]: {len(records)} audit records, {len(items)} items"
    )
    if items:
        console.print(items_table(items, title="Items"))
    table = Table(title="Audit records", title_justify="left")
    for column in ("seq", "time (UTC)", "run", "bot", "action", "outcome", "actor"):
        table.add_column(column)
    for r in records:
        table.add_row(
            str(r["seq"]),
            r["ts"],
            r.get("run_id") or "",
            r.get("bot") or "",
            r.get("action") or "",
            r.get("outcome") or "",
            r.get("actor") or "",
        )
    console.print(table)


@app.command("purge")
def purge(
    older_than_days: Annotated[
        int | None, typer.Option(help="default: audit.retention_days in borough.yaml", min=1)
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Retention: sign the chain, then remove records, evidence and item data older than N days."""
    from borough.audit.retention import purge_older_than

    with opened_runtime() as runtime:
        days = older_than_days or runtime.config.settings.audit.retention_days
        cutoff = datetime.now(UTC) - timedelta(days=days)
        if not yes and not typer.confirm(
            f"Remove audit records and evidence older than {days} days?"
        ):
            fail("nothing purged: not confirmed")
        report = purge_older_than(runtime, cutoff)
    console.print(
        f"purged {report.audit.purged_records} audit records (through record "
        f"{report.audit.purged_through_seq}), {report.evidence_folders} evidence folders, "
        f"{report.run_logs} run logs, data of {report.item_payloads} finished items"
    )


@app.command("public-key")
def public_key() -> None:
    """Print the audit signing public key (PEM) for auditors to keep and verify with."""
    with opened_runtime(console_level=None) as runtime:
        sys.stdout.write(runtime.keys.public_key_pem())
