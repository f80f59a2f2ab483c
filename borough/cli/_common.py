"""Shared by the CLI commands: console, runtime opening, error reporting, time display.

Every failure leaves by one of the exit codes of :class:`borough.cli.exitcodes.ExitCode`:
``fail()`` for a clear refusal (3, or 2 for a wrong command line), ``errors_reported()``
for borough's own errors, and :class:`BoroughGroup` for anything unexpected, so a script
or a scheduler never reads a traceback's 1 as "a run finished with failed items".
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from borough.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from borough.audit.redact import Redactor
    from borough.runtime import Runtime
    from borough.view import LedgerView

LONDON = ZoneInfo("Europe/London")
# Piped output (files, scheduler logs, tests) is not cut at 80 columns.
_WIDTH = None if sys.stdout.isatty() else 200
console = Console(highlight=False, width=_WIDTH)
err_console = Console(stderr=True, highlight=False, width=_WIDTH)


#: What the CLI lets through untouched: exits, usage errors, aborted prompts (Typer's own).
_CLICK_OUTCOMES = (typer.Exit, typer.TyperException, typer.Abort)

#: Help text is Markdown: paragraphs are re-flowed to the terminal, `code` is shown as code.
MARKUP: Literal["markdown"] = "markdown"
CONTEXT = {"help_option_names": ["-h", "--help"]}


def noun_app(name: str, **options: Any) -> typer.Typer:
    """The sub-app of one top-level noun (``runs``, ``items``, ...), all alike; its help is
    the line in :mod:`borough.cli._commands`."""
    from borough.cli._commands import BY_NAME

    options.setdefault("no_args_is_help", True)
    app = typer.Typer(
        help=BY_NAME[name].help,
        rich_markup_mode=MARKUP,
        context_settings=CONTEXT,
        add_completion=False,  # shell completion is offered once, at the top
        **options,
    )
    app.callback()(_group)  # a noun stays a group even with one command (`config check`)
    return app


def _group() -> None:
    """Nothing to do before the subcommand."""


def verb_app() -> typer.Typer:
    """The app of one top-level verb (``run``, ``demo``): a single command."""
    return typer.Typer(rich_markup_mode=MARKUP, context_settings=CONTEXT, add_completion=False)


def flag(*names: str, help: str) -> Any:
    """An on/off option (no value, so no type shown beside it in the help)."""
    return typer.Option(*names, help=help, metavar="")


#: the one time-range syntax of every command that takes one (``--since`` / ``--until``)
WHEN_HELP = "2026-11-23, 2026-11-23T09:00 (UK time), or 24h / 7d / 30m ago"
Since = Annotated[
    str | None, typer.Option("--since", metavar="WHEN", help=f"from this time: {WHEN_HELP}")
]
Until = Annotated[
    str | None,
    typer.Option("--until", metavar="WHEN", help="before this time (same forms as --since)"),
]


def limit_option() -> Any:
    """``--limit N`` means one thing everywhere: show at most N rows."""
    return typer.Option("--limit", metavar="N", min=1, help="show at most N rows")


def deprecated(old: str, new: str) -> None:
    """A renamed command still works for one release, and says what to use instead."""
    err_console.print(
        f"[yellow]note:[/] `borough {old}` is deprecated and will be removed in the next "
        f"release; use `borough {new}`",
        soft_wrap=True,
    )


def fail(message: str, code: int = ExitCode.ERROR) -> NoReturn:
    """One red line on stderr, then exit ``code`` (default 3: borough could not do it)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(int(code))


def usage(message: str) -> NoReturn:
    """The command line itself is wrong: exit 2, like click's own usage errors."""
    fail(message, ExitCode.USAGE)


@contextmanager
def errors_reported() -> Iterator[None]:
    """borough errors become one clear line and exit code 3, never a traceback."""
    from borough.errors import BoroughError, ConfigError

    try:
        yield
    except ConfigError as exc:
        lines = [str(exc), *(str(o) for o in exc.others)]
        fail("\n  ".join(lines))
    except BoroughError as exc:
        fail(str(exc))


def unexpected(
    exc: BaseException, *, log: Path | None = None, redactor: Redactor | None = None
) -> NoReturn:
    """An error borough has no words for (a full disk, a bug): one redacted line, exit 3."""
    from borough.audit.redact import Redactor

    if isinstance(exc, KeyboardInterrupt):
        fail("interrupted (Ctrl+C) before the command finished")
    text = (redactor or Redactor()).redact(str(exc)) or "no message"
    where = f"; the traceback is in {log}" if log is not None else ""
    fail(f"unexpected {type(exc).__name__}: {text}{where}")


class BoroughGroup(TyperGroup):
    """The top-level command: whatever escapes a command exits 3, never a traceback's 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            with errors_reported():
                return super().invoke(ctx)
        except typer.Abort:
            fail("aborted before the command finished")
        except _CLICK_OUTCOMES:
            raise
        except BrokenPipeError:
            # the reader went away (`borough audit export | head`): say nothing more on it
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(ExitCode.ERROR) from None
        except (Exception, KeyboardInterrupt) as exc:
            unexpected(exc)


@contextmanager
def opened_runtime(
    *, actor: str | None = None, console_level: str | None = "WARNING"
) -> Iterator[Runtime]:
    """Load config, unlock secrets, configure logging; close everything afterwards."""
    from borough import logconfig
    from borough.errors import BoroughError
    from borough.runtime import open_runtime

    with errors_reported():
        runtime = open_runtime(actor=actor)
        try:
            logconfig.configure(runtime, console_level=console_level)
            yield runtime
        except _CLICK_OUTCOMES:
            raise
        except Exception as exc:
            if isinstance(exc, BoroughError):
                raise
            logconfig.log_traceback(exc, "cli.error")
            log = runtime.paths.logs / logconfig.GENERAL_LOG
            unexpected(exc, log=log, redactor=runtime.redactor)
        finally:
            logconfig.reset()
            runtime.close()


@contextmanager
def opened_view(
    *, read_only: bool = True, console_level: str | None = "WARNING"
) -> Iterator[LedgerView]:
    """Config and ledger for a read-only command: no secret store, so no passphrase and
    no Argon2 unlock (a command that shows decrypted data uses :func:`opened_runtime`)."""
    from borough import logconfig
    from borough.view import open_view

    with errors_reported():
        view = open_view(read_only=read_only)
        try:
            logconfig.configure(None, console_level=console_level)
            yield view
        finally:
            logconfig.reset()
            view.close()


def stop_on_sigterm() -> None:
    """SIGTERM (scheduler timeout, systemd stop) ends a run like Ctrl+C: items are kept safe."""
    from borough.item_worker import RunCancelled

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
        usage(f"cannot read the time {text!r}: use 2026-11-23, 2026-11-23T09:00, 24h or 7d")
    return value if value.tzinfo else value.replace(tzinfo=LONDON)


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
