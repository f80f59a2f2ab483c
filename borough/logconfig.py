"""loguru wiring, done once by the entry point (CLI, scheduler child, tests), never by
library code.

Sinks: the audit hash chain (records bound with ``audit=``), the console, and one log
file per run under ``logs/runs/``. Every text sink redacts before writing. Libraries that
log through the standard library (APScheduler, procrastinate, uvicorn) are routed into
loguru by :func:`route_stdlib`, so their records reach the same redacting sinks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from loguru import logger

from borough import filemodes
from borough.audit.chain import is_audit_record
from borough.audit.redact import Redactor

if TYPE_CHECKING:
    from borough.runtime import Runtime

FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS!UTC}Z | {level: <7} | {extra[action]: <18} | {message}"
CONSOLE_FORMAT = "<level>{level: <7}</level> {message}"
GENERAL_LOG = "borough.log"


def _redacted(message: Any, redactor: Redactor) -> str:
    """The formatted line, redacted unless it is made of audit records as the trail's writer
    wrote them (``redacted=True``: a group's lines, redacted field by field already)."""
    text = str(message)
    record = getattr(message, "record", None)
    if record is not None and record["extra"].get("redacted") and record["exception"] is None:
        return text
    return redactor.redact(text)


class RedactingStream:
    """A console sink that redacts the formatted line (traceback included)."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self._stream = stream
        self._redactor = redactor

    def write(self, message: Any) -> None:
        self._stream.write(_redacted(message, self._redactor))
        self._stream.flush()


class RunLogSink:
    """``logs/runs/<run_id>.log`` per run; ``logs/borough.log`` for the rest.

    The file last written stays open (a run writes thousands of lines to one file); it is
    opened again when another file is due or when it was removed or replaced meanwhile.
    """

    def __init__(self, logs: Path, redactor: Redactor) -> None:
        self._folder = logs / "runs"
        self._general = logs / GENERAL_LOG
        self._redactor = redactor
        self._lock = threading.Lock()
        self._handle: tuple[Path, int, TextIO] | None = None
        self.failed = False
        filemodes.make_folder(self._folder)

    def write(self, message: Any) -> None:
        extra = message.record["extra"]
        run_id = extra.get("run_id") or (extra.get("audit") or {}).get("run_id")
        target = self._folder / f"{run_id}.log" if run_id else self._general
        text = _redacted(message, self._redactor)
        with self._lock:
            try:
                handle = self._open(target)
                handle.write(text)
                handle.flush()
            except OSError as exc:  # a full disk: say so once, never a traceback per line
                self.stop()
                if not self.failed:
                    self.failed = True
                    sys.stderr.write(f"warning: cannot write the log {target}: {exc.strerror}\n")

    def _open(self, target: Path) -> TextIO:
        if self._handle is not None:
            path, inode, handle = self._handle
            if path == target:
                try:
                    if os.stat(target).st_ino == inode:
                        return handle
                except FileNotFoundError:
                    pass
            self.stop()
        handle = cast(TextIO, filemodes.open_private(target, "a", encoding="utf-8"))
        self._handle = (target, os.fstat(handle.fileno()).st_ino, handle)
        return handle

    def stop(self) -> None:
        """Close the open log file (loguru calls this when the sink is removed)."""
        if self._handle is not None:
            handle = self._handle[2]
            self._handle = None
            with contextlib.suppress(OSError):
                handle.close()


def configure(
    runtime: Runtime | None,
    *,
    console_level: str | None = "INFO",
    file_level: str = "DEBUG",
    stream: TextIO | None = None,
) -> None:
    """Replace every loguru handler with borough's (safe to call again)."""
    logger.remove()
    logger.configure(extra={"action": "-"})
    redactor = runtime.redactor if runtime else Redactor()
    diagnose = bool(runtime and runtime.config.settings.logging.diagnose)
    if runtime is not None:
        logger.add(runtime.sink, level=0, filter=is_audit_record, format="{message}", catch=False)
        logger.add(
            RunLogSink(runtime.paths.logs, redactor),
            level=file_level,
            format=FILE_FORMAT,
            backtrace=False,
            diagnose=diagnose,
        )
    if console_level is not None:
        logger.add(
            RedactingStream(stream or sys.stderr, redactor),
            level=console_level,
            format=CONSOLE_FORMAT,
            colorize=(stream or sys.stderr).isatty(),
            backtrace=False,
            diagnose=diagnose,
            filter=_not_file_only,
        )


def _not_file_only(record: Any) -> bool:
    return not record["extra"].get("file_only")


def log_traceback(exc: BaseException, action: str) -> None:
    """Keep an unexpected error's traceback in the log file (redacted), not on the console."""
    logger.opt(exception=exc).bind(action=action, file_only=True).error(
        "unexpected {}: the command stopped", type(exc).__name__
    )


def reset() -> None:
    """Remove borough's handlers (tests, end of process)."""
    logger.remove()


class StdlibToLoguru(logging.Handler):
    """A standard-library handler that re-emits each record through loguru (the loguru
    recipe), under ``action`` or, by default, the library logger's name."""

    def __init__(self, action: str | None = None) -> None:
        super().__init__()
        self.action = action

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        action = self.action or record.name[:18]
        logger.opt(exception=record.exc_info).bind(action=action).log(level, record.getMessage())


def route_stdlib(
    names: Iterable[str], *, level: int = logging.INFO, action: str | None = None
) -> None:
    """Send the named standard-library loggers' records at ``level`` and above to loguru,
    and nowhere else (idempotent: an entry point may call it again)."""
    for name in names:
        std = logging.getLogger(name)
        std.setLevel(level)
        std.propagate = False
        std.handlers = [StdlibToLoguru(action)]
