"""``borough config check``: validate every file in config/ and say exactly what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from borough.cli._common import console, err_console, noun_app
from borough.cli.exitcodes import ExitCode

app = noun_app("config")


@app.command("check")
def check() -> None:
    """Validate borough.yaml, apps.yaml, bots/*.yaml (and schedules.yaml when present).

    Valid but unsafe settings (e.g. a heartbeat close to the lease) are warned about.
    Exit code 0: valid; 3: problems found (each named by file:line).
    """
    from borough.config.check import check_all, check_warnings
    from scheduler.check import check_schedules, schedule_warnings

    problems, checked = check_all(extra_checks=[check_schedules])
    for file in checked:
        console.print(f"checked {file}")
    for warning in check_warnings(extra_warnings=[schedule_warnings]):
        err_console.print(f"[yellow]![/] {escape(warning)}", soft_wrap=True)
    if problems:
        for problem in problems:
            err_console.print(f"[red]✗[/] {escape(problem)}", soft_wrap=True)
        err_console.print(f"[red]{len(problems)} problem(s)[/]")
        raise typer.Exit(ExitCode.ERROR)
    console.print("[green]configuration OK[/]")


@app.command("reference")
def reference(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="write the reference to this file, not the screen"),
    ] = None,
    check: Annotated[
        Path | None,
        typer.Option(
            "--check", help="compare with this file (docs/settings-reference.md); 3 if stale"
        ),
    ] = None,
) -> None:
    """Print every configuration key (type, default, limits, meaning), generated from the
    models that validate config/ — borough.yaml, apps.yaml (each installed kind),
    bots/*.yaml and schedules.yaml."""
    from borough.config.reference import Section, core_sections, render
    from scheduler.config import SchedulesFile

    text = render(
        [
            *core_sections(),
            Section(
                "config/schedules.yaml",
                "When bots run: the scheduler, notifications, calendars and schedules.",
                SchedulesFile,
            ),
        ]
    )
    if check is not None:
        current = check.read_text(encoding="utf-8") if check.exists() else ""
        if current != text:
            err_console.print(
                f"[red]✗[/] {escape(str(check))} is stale: regenerate it with "
                f"`borough config reference --output {escape(str(check))}`",
                soft_wrap=True,
            )
            raise typer.Exit(ExitCode.ERROR)
        console.print(f"{escape(str(check))} is up to date")
        return
    if output is not None:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {escape(str(output))}")
        return
    typer.echo(text, nl=False)
