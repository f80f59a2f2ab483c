"""``borough config check``: validate every file in config/ and say exactly what is wrong."""

from __future__ import annotations

import typer
from rich.markup import escape

from borough.cli._common import console, err_console
from borough.cli.exitcodes import ExitCode

app = typer.Typer(help="Check the configuration.", no_args_is_help=True)


@app.command("check")
def check() -> None:
    """Validate borough.yaml, apps.yaml, bots/*.yaml (and schedules.yaml when present).

    Valid but unsafe settings (e.g. a heartbeat close to the lease) are warned about.
    Exit code 0: valid; 3: problems found (each named by file:line).
    """
    from borough.config.check import check_all, check_warnings
    from scheduler.check import check_schedules

    problems, checked = check_all(extra_checks=[check_schedules])
    for file in checked:
        console.print(f"checked {file}")
    for warning in check_warnings():
        err_console.print(f"[yellow]![/] {escape(warning)}", soft_wrap=True)
    if problems:
        for problem in problems:
            err_console.print(f"[red]✗[/] {escape(problem)}", soft_wrap=True)
        err_console.print(f"[red]{len(problems)} problem(s)[/]")
        raise typer.Exit(ExitCode.ERROR)
    console.print("[green]configuration OK[/]")
