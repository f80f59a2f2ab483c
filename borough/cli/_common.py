"""Shared by the CLI commands: console, runtime opening, error reporting, time display."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from borough.runtime import Runtime

LONDON = ZoneInfo("Europe/London")
# Piped output (files, scheduler logs, tests) is not cut at 80 columns.
_WIDTH = None if sys.stdout.isatty() else 200
console = Console(highlight=False, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, width=_WIDTH)


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def errors_reported(code: int = 2) -> Iterator[None]:
    """borough errors become one clear line and exit ``code``, never a traceback."""
    from borough.errors import BoroughError, ConfigError

    try:
        yield
    except ConfigError as exc:
        lines = [str(exc), *(str(o) for o in exc.others)]
        fail("\n  ".join(lines), code)
    except BoroughError as exc:
        fail(str(exc), code)


@contextmanager
def opened_runtime(
    *, actor: str | None = None, console_level: str | None = "WARNING", error_code: int = 2
) -> Iterator[Runtime]:
    """Load config, unlock secrets, configure logging; close everything afterwards."""
    from borough import logconfig
    from borough.runtime import open_runtime

    with errors_reported(error_code):
        runtime = open_runtime(actor=actor)
        try:
            logconfig.configure(runtime, console_level=console_level)
            yield runtime
        finally:
            logconfig.reset()
            runtime.close()


def stop_on_sigterm() -> None:
    """SIGTERM (scheduler timeout, systemd stop) ends a run like Ctrl+C: items are kept safe."""
    from borough.worker import RunCancelled

    def _handler(signum: int, frame: Any) -> None:
        raise RunCancelled()

    signal.signal(signal.SIGTERM, _handler)


def local(ts: datetime | None) -> str:
    """A UTC time shown in UK local time (GMT/BST), as operators read clocks."""
    if ts is None:
        return "-"
    return ts.astimezone(LONDON).strftime("%Y-%m-%d %H:%M:%S")


def parse_when(text: str | None) -> datetime | None:
    """``2026-11-23``, ``2026-11-23T09:00`` (UK local) or ``24h``/``7d`` ago."""
    from datetime import timedelta

    if not text:
        return None
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[-1:] in units and text[:-1].isdigit():
        return datetime.now(LONDON) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"cannot read the time {text!r}: use 2026-11-23, 2026-11-23T09:00, 24h or 7d")
    return value if value.tzinfo else value.replace(tzinfo=LONDON)


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
