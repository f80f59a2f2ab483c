"""``borough scheduler start|sync|status``: the old names, kept for one release.

``borough serve scheduler`` runs the service; ``borough schedules sync|status`` are the
operator's commands. Each old command prints a note, then does exactly what the new does.
"""

from __future__ import annotations

from typing import Annotated

import typer

from borough.cli import schedules_cmd, serve_cmd
from borough.cli._common import deprecated, flag, noun_app

app = noun_app("scheduler")


@app.command("start")
def start(
    standby: Annotated[bool, flag("--standby", help="see `borough serve scheduler`")] = False,
    minutes: Annotated[float | None, typer.Option("--for", min=0, metavar="MINUTES")] = None,
    leave_runs: Annotated[bool, flag("--leave-runs", help="see `borough serve scheduler`")] = False,
) -> None:
    """Deprecated: `borough serve scheduler`."""
    deprecated("scheduler start", "serve scheduler")
    serve_cmd.serve_scheduler(standby=standby, minutes=minutes, leave_runs=leave_runs)


@app.command("sync")
def sync(dry_run: Annotated[bool, flag("--dry-run", help="change nothing")] = False) -> None:
    """Deprecated: `borough schedules sync`."""
    deprecated("scheduler sync", "schedules sync")
    schedules_cmd.sync(dry_run=dry_run)


@app.command("status")
def status() -> None:
    """Deprecated: `borough schedules status`."""
    deprecated("scheduler status", "schedules status")
    schedules_cmd.status()
