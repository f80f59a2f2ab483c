"""The ``borough`` command: one Typer sub-app per noun, each in its own module.

Commands import the heavy parts of borough only when they run, so ``borough --help``
stays fast.
"""

from __future__ import annotations

import typer

from borough import filemodes
from borough.cli import (
    _common,
    audit_cmd,
    check_cmd,
    config_cmd,
    dashboard_cmd,
    demo_cmd,
    evidence_cmd,
    items_cmd,
    keys_cmd,
    ledger_cmd,
    new_cmd,
    run_cmd,
    runs_cmd,
    scheduler_cmd,
    schedules_cmd,
    secrets_cmd,
    worker_cmd,
)
from borough.cli.exitcodes import help_text

app = typer.Typer(
    name="borough",
    cls=_common.BoroughGroup,
    help="Scheduled, exactly-once, audited bots for council legacy systems.",
    epilog=help_text(),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("run")(run_cmd.run)
app.command("demo")(demo_cmd.demo)
app.add_typer(runs_cmd.app, name="runs")
app.add_typer(items_cmd.app, name="items")
app.add_typer(ledger_cmd.app, name="ledger")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(evidence_cmd.app, name="evidence")
app.add_typer(secrets_cmd.app, name="secrets")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(config_cmd.app, name="config")
app.add_typer(check_cmd.app, name="check")
app.add_typer(new_cmd.app, name="new")
app.add_typer(scheduler_cmd.app, name="scheduler")
app.add_typer(schedules_cmd.app, name="schedules")
app.command("worker")(worker_cmd.worker)
app.add_typer(dashboard_cmd.app, name="dashboard")


def main() -> None:
    """The ``borough`` command (and ``python -m borough``, which the scheduler runs)."""
    filemodes.private_umask()  # before anything is written; children inherit it
    app()
