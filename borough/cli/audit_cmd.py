"""``borough audit verify|anchor|export|sar|reindex|repair|restart|purge|public-key``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from borough.cli import audit_reading
from borough.cli._common import (
    console,
    err_console,
    errors_reported,
    fail,
    flag,
    noun_app,
    opened_runtime,
    opened_view,
)
from borough.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from borough.audit.anchors import Anchor
    from borough.audit.verify import Verdict

app = noun_app("audit")


@app.command("verify")
def verify(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="exported trails to verify instead (`audit export --format jsonl`, shipped "
            "from other machines)"
        ),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="PEM public key you kept (default: the installation's key from the secret "
            "store, which also checks every record's MAC; other machines' trails are checked "
            "with the public keys registered in the ledger)",
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
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="walk every record (on both cores) instead of only those after the last "
            "point verified, with the installation's key (every record's MAC)",
        ),
    ] = False,
    verbose: Annotated[
        bool, flag("--verbose", "-v", help="say how each trail was proven and what was kept")
    ] = False,
) -> None:
    """Check every record, link, MAC, signature, anchor and the index; name the first record
    that is not as written, on this machine's trail and every other one readable here.

    Without --full, a trail that ends at its signed head is proven by the head's signature
    with the key registered in the ledger, and the secret store is not unlocked.

    Exit code 0: intact; 4: tampering or damage found; 3: verification could not run.
    """
    from borough.audit.anchors import parse_anchor, read_anchor_file
    from borough.errors import BoroughError

    if not files:  # shipped exports are verified anywhere, installation or not
        _require_installation()
    try:
        external = [parse_anchor(text) for text in anchor or []]
        if anchors is not None:
            external += read_anchor_file(anchors)
    except BoroughError as exc:
        fail(str(exc), ExitCode.USAGE)
    notes: list[str] = []
    try:
        if files:
            verdicts = _verify_files(files, public_key)
        elif public_key is not None:
            verdicts = [_verify_with_public_key(public_key, external, full)]
        else:
            verdicts, notes = _verify_with_store(external, full)
    except OSError as exc:
        fail(f"cannot read the audit trail: {exc}", ExitCode.ERROR)
    for verdict in verdicts:
        _print_verdict(verdict, named=len(verdicts) > 1, verbose=verbose)
    audit_reading.notes(notes)
    if any(not v.ok for v in verdicts):
        raise typer.Exit(ExitCode.TAMPERED)


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


def _verify_with_store(external: list[Anchor], full: bool) -> tuple[list[Verdict], list[str]]:
    """Without unlocking the secret store when the signed head proves this machine's trail
    (:func:`borough.audit.check.verify_estate_signed`); with it otherwise, or for --full."""
    from borough.audit.check import verify_estate, verify_estate_signed

    if not full:
        with opened_view(read_only=False, console_level=None) as view:
            signed = verify_estate_signed(view, external=external)
        if signed is not None:
            return signed
    with opened_runtime(console_level=None) as runtime:
        return verify_estate(runtime, external=external, full=full)


def _load_public_key(path: Path) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        fail(f"cannot read public key {path}: {exc}", ExitCode.ERROR)
    if not isinstance(key, Ed25519PublicKey):
        fail(f"{path} is not an Ed25519 public key (borough's audit key)", ExitCode.ERROR)
    return key


def _verify_with_public_key(path: Path, external: list[Anchor], full: bool) -> Verdict:
    """For an auditor without the passphrase: signatures, the head, every anchor, the index."""
    from borough.audit.keys import AuditKeys
    from borough.audit.verifytrail import TrailCheck, verify_trail
    from borough.host import host_name

    key = _load_public_key(path)
    trail = host_name()
    with audit_reading.audit_books() as (config, books):
        try:
            ledger = books.anchors.since_restart(trail)
        except Exception as exc:
            err_console.print(f"[yellow]note:[/] {escape(str(exc))}; checking without them")
            ledger = []
        return verify_trail(
            TrailCheck(
                config.paths.audit,
                trail,
                AuditKeys.public_only(key),
                anchors=ledger,
                external=external,
                index=books.index,
                full=True,
                parallel=full,
            )
        )


def _verify_files(files: list[Path], public_key: Path | None) -> list[Verdict]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from borough.audit.keys import AuditKeys
    from borough.audit.shipped import verify_export

    given = AuditKeys.public_only(_load_public_key(public_key)) if public_key else None
    with audit_reading.audit_books() as (_config, books):
        writers = {w.trail: w.public_key for w in books.writers.all()}

        def keys_for(trail: str) -> AuditKeys | None:
            if given is not None:
                return given
            pem = writers.get(trail)
            if pem is None:
                return None
            key = load_pem_public_key(pem.encode("ascii"))
            return AuditKeys.public_only(key) if isinstance(key, Ed25519PublicKey) else None

        verdicts = []
        for file in files:
            verdicts += verify_export(file, keys_for, books.anchors.since_restart)
        return verdicts


def _print_verdict(verdict: Verdict, *, named: bool = False, verbose: bool = False) -> None:
    from borough.audit.verify import first_problem_text

    who = f"{verdict.trail}: " if named and verdict.trail else ""
    if verdict.ok:
        held = f"; held against {verdict.anchors} anchor(s)" if verdict.anchors else ""
        macs = "every record's MAC checked" if verdict.macs_checked else "public key only"
        if verdict.registered_key:
            macs = "signed head checked with the key registered in the ledger (no unlock)"
        segments = f" in {verdict.segments + 1} files" if verdict.segments else ""
        console.print(
            f"[green]OK[/] {who}{verdict.records} records{segments} (seq {verdict.first_seq}-"
            f"{verdict.last_seq}), {verdict.checkpoints} signed checkpoints, signed through "
            f"record {verdict.signed_through}; {macs}{held}"
        )
        for warning in verdict.warnings + (verdict.details if verbose else []):
            console.print(f"[yellow]note:[/] {escape(warning)}", soft_wrap=True)
        return
    problem = verdict.problem
    assert problem is not None
    console.print(
        f"[red]TAMPERED[/] {who}{problem.kind} at {first_problem_text(problem)}: "
        f"{escape(problem.message)}",
        soft_wrap=True,
    )


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


app.command("export")(audit_reading.export)
app.command("sar")(audit_reading.sar)
app.command("reindex")(audit_reading.reindex)


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
