"""``borough keys show|backup|restore``: the installation's keys, their backup and recovery."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from borough.cli._common import console, errors_reported, noun_app, opened_runtime
from borough.cli._json import JsonFlag, emit
from borough.cli.exitcodes import ExitCode

app = noun_app("keys")

PASSPHRASE_WARNING = (
    "The backup opens only with the store's passphrase. Keep the passphrase somewhere "
    "else (e.g. the council's password vault), never beside the backup: a backup and its "
    "passphrase together give the keys to whoever holds both."
)


@app.command("show")
def show(
    file: Annotated[
        Path | None,
        typer.Option("--file", help="a store or backup file to look at (default: the store)"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """The keys' fingerprint and public key, and whether ledger and trail agree with them.

    Exit code 0: they agree (or nothing is recorded yet); 3: they do not, or no keys.
    """
    from borough.config import load_config
    from borough.secrets.keys import short_fingerprint
    from borough.secrets.report import key_report

    with errors_reported():
        config = load_config()
        report = key_report(config, file or config.secrets_file)
    code = ExitCode.OK if report.ok else ExitCode.ERROR
    if as_json:
        checks = [{"found": line, "agrees": ok} for line, ok in report.checks]
        emit(
            {
                "store": report.file,
                "fingerprint": report.fingerprint,
                "public_key_pem": report.public_key_pem,
                "checks": checks,
                "ok": report.ok,
            }
        )
        raise typer.Exit(code)
    console.print(f"store:        {report.file}")
    if report.fingerprint is None:
        console.print("[red]keys:         none in this store[/]")
    else:
        console.print(f"fingerprint:  {short_fingerprint(report.fingerprint)}")
        console.print(f"              {report.fingerprint}", style="dim")
    for line, ok in report.checks:
        console.print(f"[{'green' if ok else 'red'}]{'ok  ' if ok else 'BAD '}[/] {escape(line)}")
    if report.public_key_pem:
        console.print(report.public_key_pem.rstrip(), highlight=False)
    raise typer.Exit(code)


@app.command("backup")
def backup(
    to: Annotated[Path, typer.Option("--to", help="the new backup file (never overwritten)")],
) -> None:
    """Copy the secret store (keys and secrets, still encrypted) to a new private file."""
    from borough.secrets.backup import backup_store
    from borough.secrets.keys import short_fingerprint

    target = to.expanduser().absolute()
    with opened_runtime(console_level=None) as runtime:
        backup_store(runtime.secrets, target)
        fingerprint = runtime.keys.fingerprint()
        runtime.trail.emit("keys.backup", target=str(target), detail={"fingerprint": fingerprint})
    console.print(f"backup written to {target} (keys {short_fingerprint(fingerprint)}, mode 600)")
    console.print(PASSPHRASE_WARNING)


@app.command("restore")
def restore(
    backup_file: Annotated[Path, typer.Argument(help="a backup made with `borough keys backup`")],
) -> None:
    """Put a backup in place of the secret store, after checking it against this installation.

    The backup must open with the passphrase and hold the keys this installation's ledger
    and audit trail were made with. The store it replaces is kept beside it.
    """
    from borough.config import load_config
    from borough.secrets.backup import restore_store
    from borough.secrets.keys import short_fingerprint
    from borough.secrets.passphrase import require_passphrase

    source = backup_file.expanduser().absolute()
    with errors_reported():
        config = load_config()
        passphrase = require_passphrase(config.settings.secrets.passphrase_env)
        restored = restore_store(config, passphrase, source)
    fingerprint = restored.keys.fingerprint()
    with opened_runtime(console_level=None) as runtime:
        runtime.trail.emit(
            "keys.restored",
            target=str(config.secrets_file),
            detail={
                "fingerprint": fingerprint,
                "backup": str(source),
                "replaced_store_kept_as": str(restored.kept) if restored.kept else None,
            },
        )
    console.print(
        f"restored {config.secrets_file} from {source} (keys {short_fingerprint(fingerprint)})"
    )
    if restored.kept:
        console.print(f"the store it replaced is kept as {restored.kept}")
