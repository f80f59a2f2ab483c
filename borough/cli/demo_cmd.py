"""``borough demo``: the main job, on bundled sample data, in its own demo installation."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

import typer

from borough.cli._common import console, errors_reported

DEMO_PASSPHRASE = "borough-demo-only-not-for-real-secrets"


def demo(
    keep: Annotated[
        bool, typer.Option("--keep", help="keep the previous demo's ledger (shows exactly-once)")
    ] = False,
) -> None:
    """Run the demo: a bot moves the sample benefits export into the revenues import workbook.

    Everything happens in var/demo (its own config copy, ledger, audit trail and secrets),
    so the demo never touches a real installation.
    """
    from borough import logconfig
    from borough.audit.verify import verify_file
    from borough.cli._render import ProgressObserver, summary_table, where_to_look
    from borough.config import load_config, resolve_paths
    from borough.runner import RunRequest, run_bot
    from borough.runtime import open_runtime

    source_home = Path(os.environ.get("BOROUGH_HOME") or Path.cwd()).resolve()
    if not (source_home / "config").is_dir():
        raise typer.BadParameter(
            f"run the demo from the borough folder ({source_home} has no config/)"
        )
    demo_home = source_home / "var" / "demo"
    if demo_home.exists() and not keep:
        shutil.rmtree(demo_home)
    demo_home.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source_home / "config", demo_home / "config", dirs_exist_ok=True)
    shutil.copytree(source_home / "sample-data", demo_home / "sample-data", dirs_exist_ok=True)
    env = {
        "BOROUGH_HOME": str(demo_home),
        "BOROUGH_SECRETS_PASSPHRASE": os.environ.get("BOROUGH_SECRETS_PASSPHRASE", DEMO_PASSPHRASE),
    }
    console.rule("[bold]borough demo")
    console.print(
        "A council's benefits system exports Council Tax Reduction changes as CSV; the revenues "
        "system imports an Excel workbook. Staff re-key between them today. The bot "
        "[bold]benefits-to-revenues[/] converts, validates and appends each row exactly once, "
        "recording every step in a tamper-evident audit trail."
    )
    console.print(f"Demo installation: {demo_home}\n")
    with errors_reported():
        config = load_config(resolve_paths(env))
        runtime = open_runtime(config, env=env)
        logconfig.configure(runtime, console_level="WARNING")
        try:
            for attempt, title in enumerate(("First run", "Second run, same file")):
                console.rule(title)
                if attempt == 1:
                    console.print("Running again on the same export: nothing may be written twice.")
                observer = ProgressObserver(console)
                try:
                    record = run_bot(
                        runtime, RunRequest("benefits-to-revenues", trigger="demo"), observer
                    )
                finally:
                    observer.stop()
                console.print(summary_table(record))
            console.rule("Audit trail")
            verdict = verify_file(runtime.paths.audit, runtime.keys.public_key)
            state = "[green]intact[/]" if verdict.ok else f"[red]{verdict.problem}[/]"
            console.print(
                f"{verdict.records} records, {verdict.checkpoints} signed checkpoints: {state}"
            )
            console.rule("Where to look")
            for line in where_to_look(runtime, record):
                console.print(line)
            workbook = demo_home / "var" / "targets" / "revenues" / "ctr_import.xlsx"
            console.print(f"target:    {workbook}")
            console.print(
                "\nTry: "
                f"BOROUGH_HOME={demo_home} BOROUGH_SECRETS_PASSPHRASE=... "
                "borough items list --state failed"
            )
        finally:
            logconfig.reset()
            runtime.close()
