"""The ``borough`` command: one Typer sub-app per noun, each in its own module.

The shape: a few verbs at the top (``run``, ``demo``, ``serve``), then one noun per
concept (``runs``, ``items``, ``schedules``, ``audit``, ``secrets``, ``keys``, ``config``,
``dashboard users``, ``new``); the table is :mod:`borough.cli._commands`. A command's
module is imported only when it runs, commands import the heavy parts of borough only
inside their bodies, and ``import borough`` loads nothing heavy, so ``borough --help``
stays fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer

from borough import filemodes
from borough.cli import _common
from borough.cli._commands import BY_NAME, ENTRIES, Entry
from borough.cli.exitcodes import help_text


@dataclass
class _Listed:
    """What the top-level help shows of a command, without importing it."""

    name: str
    help: str
    short_help: str
    hidden: bool
    deprecated: bool = False

    @classmethod
    def of(cls, entry: Entry) -> _Listed:
        return cls(entry.name, entry.help, entry.help, entry.hidden)


class RootGroup(_common.BoroughGroup):
    """Lists every command from the table; builds a command only when it is used."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [entry.name for entry in ENTRIES]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = BY_NAME.get(cmd_name)
        if entry is None:
            return None
        if self._listing:
            return _Listed.of(entry)
        module = importlib.import_module(entry.module)
        command = typer.main.get_command(module.app)
        command.name = entry.name
        command.hidden = entry.hidden
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="borough",
    cls=RootGroup,
    help="Scheduled, exactly-once, audited bots for council legacy systems.",
    epilog=help_text(),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=_common.MARKUP,
    context_settings=_common.CONTEXT,
)


@app.callback()
def _root() -> None:
    """Scheduled, exactly-once, audited bots for council legacy systems."""


def main() -> None:
    """The ``borough`` command (and ``python -m borough``, which the scheduler runs)."""
    filemodes.private_umask()  # before anything is written; children inherit it
    app()
