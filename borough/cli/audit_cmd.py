"""``borough audit verify|anchor|export|sar|repair|restart|purge|public-key``."""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
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
    flag,
    noun_app,
    opened_runtime,
    parse_when,
)
from borough.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from borough.audit.anchors import Anchor
    from borough.audit.verify import Verdict

app = noun_app("audit")


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
        typer.Option(
            metavar="FILE",
            help="PEM public key you kept (default: the installation's key from the secret "
            "store, which also checks every record's MAC)",
        ),
    ] = None,
    anchor: Annotated[
        list[str] | None,
        typer.Option(metavar="SEQ:HASH", help="an anchor kept elsewhere (repeatable)"),
    ] = None,
    anchors: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="file of kept anchors: lines from `borough audit anchor`, or SEQ:HASH",
        ),
    ] = None,
) -> None:
    """Check every record, link, MAC, signature and anchor; name the first record that is not
    as written.

    Exit code 0: intact; 4: tampering or damage found; 3: verification could not run.
    """
    from borough.audit.anchors import parse_anchor, read_anchor_file
    from borough.errors import BoroughError

    _require_installation()
    try:
        external = [parse_anchor(text) for text in anchor or []]
        if anchors is not None:
            external += read_anchor_file(anchors)
    except BoroughError as exc:
        fail(str(exc), ExitCode.USAGE)
    try:
        verdict = (
            _verify_with_public_key(public_key, external)
            if public_key is not None
            else _verify_with_store(external)
        )
    except OSError as exc:
        fail(f"cannot read the audit trail: {exc}", ExitCode.ERROR)
    _print_verdict(verdict)


def _require_installation() -> None:
    """Nothing here at all (no trail, no ledger or secret store): say so (exit 3) and create
    nothing, rather than vouch for an empty folder. Where an installation's own state is
    left, a missing trail is for the verification to judge (records were deleted)."""
    from borough.config import load_config

    with errors_reported():
        paths = load_config().paths
    if any(folder.is_dir() and any(folder.iterdir()) for folder in (paths.audit, paths.data)):
        return
    fail(
        f"no audit trail in {paths.audit}: nothing to verify. Run this in the installation "
        "(BOROUGH_HOME, or the folder with config/) whose trail you mean",
        ExitCode.ERROR,
    )


def _verify_with_store(external: list[Anchor]) -> Verdict:
    from borough.audit.check import verify_installation

    with opened_runtime(console_level=None) as runtime:
        return verify_installation(runtime, external=external)


def _verify_with_public_key(path: Path, external: list[Anchor]) -> Verdict:
    """For an auditor without the passphrase: signatures, the head and every anchor."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from borough.audit.verify import verify_file
    from borough.config import load_config
    from borough.errors import BoroughError
    from borough.host import host_name
    from borough.ledger.anchors import read_anchors

    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        fail(f"cannot read public key {path}: {exc}", ExitCode.ERROR)
    if not isinstance(key, Ed25519PublicKey):
        fail(f"{path} is not an Ed25519 public key (borough's audit key)", ExitCode.ERROR)
    with errors_reported():
        config = load_config()
    ledger: list[Anchor] = []
    try:
        ledger = read_anchors(config.ledger_url, host_name())
    except BoroughError as exc:
        err_console.print(f"[yellow]note:[/] {escape(str(exc))}; checking without them")
    return verify_file(config.paths.audit, key, anchors=ledger, external=external)


def _print_verdict(verdict: Verdict) -> None:
    if verdict.ok:
        held = f"; held against {verdict.anchors} anchor(s)" if verdict.anchors else ""
        macs = "every record's MAC checked" if verdict.macs_checked else "public key only"
        console.print(
            f"[green]OK[/] {verdict.records} records (seq {verdict.first_seq}-{verdict.last_seq}), "
            f"{verdict.checkpoints} signed checkpoints, signed through record "
            f"{verdict.signed_through}; {macs}{held}"
        )
        for warning in verdict.warnings:
            console.print(f"[yellow]note:[/] {escape(warning)}", soft_wrap=True)
        return
    problem = verdict.problem
    assert problem is not None
    where = f"record {problem.seq}" if problem.seq is not None else "trail"
    line = f", line {problem.line}" if problem.line else ""
    console.print(
        f"[red]TAMPERED[/] {problem.kind} at {where}{line}: {escape(problem.message)}",
        soft_wrap=True,
    )
    raise typer.Exit(ExitCode.TAMPERED)


@app.command("anchor")
def anchor() -> None:
    """Sign the trail's end now and print the anchor for an auditor to keep elsewhere.

    Check against it later with `borough audit verify --anchors FILE`.
    """
    with opened_runtime(console_level=None) as runtime:
        runtime.trail.checkpoint("anchor for an auditor")
        kept = runtime.sink.last_anchor
    assert kept is not None
    sys.stdout.write(kept.to_line() + "\n")
    err_console.print(
        f"record {kept.seq} of {kept.trail}'s trail. Keep this line where the operators of this "
        "machine cannot change it (e-mail it to your auditor); `borough audit verify --anchors "
        "FILE` proves later that the trail still holds it.",
        style="dim",
    )


@app.command("repair")
def repair(
    quarantine_unproven: Annotated[
        bool,
        flag(
            "--quarantine-unproven",
            help="also move aside records after the signed head that fail their MAC check",
        ),
    ] = False,
) -> None:
    """Mend the trail's end after a crash: keep every complete record, move a torn record
    aside into logs/audit/quarantine/, sign again; each repair is itself a signed record."""
    from borough.audit.repair import repair as do_repair

    with opened_runtime() as runtime:
        report = do_repair(
            runtime.sink, dict(runtime.trail.context), quarantine_unproven=quarantine_unproven
        )
    if not report.repaired:
        console.print(
            f"Nothing to repair: the trail ends at record {report.kept_through}, as signed."
        )
        return
    moved = (
        f"; {report.removed_bytes} bytes ({report.removed_records} unproven record(s)) moved to "
        f"{report.quarantine} (sha256 {report.removed_sha256})"
        if report.quarantine
        else ""
    )
    console.print(
        f"Repaired ({', '.join(report.reasons)}): kept every record through "
        f"{report.kept_through}{moved}; recorded as signed record {report.record_seq}.",
        soft_wrap=True,
    )


@app.command("restart")
def restart(
    reason: Annotated[str, typer.Option(help="why: it is written into the new chain")],
    yes: Annotated[bool, flag("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Break-glass: start a new chain when the trail is lost or cannot be repaired.

    The old files are moved to logs/audit/quarantine/lost-*/, and the new chain's first
    record names the lost chain's last anchor: the loss stays visible to every auditor.
    """
    from borough.audit.repair import restart as do_restart

    if not yes and not typer.confirm(
        "Start a new audit chain? The loss of the current one is recorded permanently."
    ):
        raise typer.Exit(ExitCode.USAGE)
    with opened_runtime() as runtime:
        report = do_restart(runtime.sink, dict(runtime.trail.context), reason)
    last = report.last_anchor
    lost = f"its last anchor was record {last['seq']}" if last else "it had no anchor"
    console.print(
        f"New chain started (record {report.record_seq}, audit.restarted). The old trail "
        f"({report.lost_bytes} bytes) is in {report.moved_to}; {lost}.",
        soft_wrap=True,
    )


@app.command("export")
def export(
    since: Since = None,
    until: Until = None,
    fmt: Annotated[Format, typer.Option("--format", help="csv or jsonl")] = Format.csv,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="file (default stdout)")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", hidden=True)] = None,
    to: Annotated[str | None, typer.Option("--to", hidden=True)] = None,
) -> None:
    """Records in a time range for an auditor (tokens only: no personal data in clear)."""
    from borough.audit.reading import TrailReader, in_range, write_export

    if from_ is not None or to is not None:  # the old names, for one release
        deprecated("audit export --from/--to", "audit export --since/--until")
        since, until = since or from_, until or to
    reader = TrailReader(_audit_folder())
    rows = in_range(reader, parse_when(since), parse_when(until))
    with _reading_errors():
        if output is None:
            count = write_export(rows, sys.stdout, fmt.value)
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                count = write_export(rows, handle, fmt.value)
            console.print(f"{count} records written to {output}", style="dim")
    _notes(reader.notes)


@contextmanager
def _reading_errors() -> Iterator[None]:
    """A trail that cannot be read is an error (exit 3) in one line, never a traceback."""
    from borough.errors import AuditError

    try:
        yield
    except AuditError as exc:
        fail(str(exc), ExitCode.ERROR)
    except OSError as exc:
        fail(f"cannot read the audit trail: {exc}", ExitCode.ERROR)


def _notes(notes: list[str]) -> None:
    for note in notes:
        err_console.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)


@app.command("sar")
def sar(
    who: Annotated[str, typer.Argument(help="a person token (p_...) or an identifier to tokenise")],
    fmt: Annotated[Format | None, typer.Option("--format", help="csv or jsonl")] = None,
) -> None:
    """Subject access request: every event and item about one person."""
    from rich.table import Table

    from borough.audit.reading import TrailReader, about_subject, write_export
    from borough.audit.tokens import is_token
    from borough.cli._render import items_table
    from borough.errors import AuditError

    with opened_runtime(console_level=None) as runtime:
        token = who if is_token(who) else runtime.tokenizer.token(who)
        reader = TrailReader(runtime.paths.audit)
        with _reading_errors():
            records = list(about_subject(reader, token))
        items = runtime.ledger.items.list(token=token, limit=10_000)
        try:
            runtime.trail.emit("audit.sar", subjects=[token], detail={"records": len(records)})
        except AuditError as exc:  # a read-only or full trail: answer, and say it went unrecorded
            reader.notes.append(f"this search could not be recorded in the audit trail: {exc}")
    _notes(reader.notes)
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
    yes: Annotated[bool, flag("--yes", help="do not ask for confirmation")] = False,
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
