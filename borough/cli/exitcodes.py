"""The exit codes of every ``borough`` command (documented in docs/operations.md)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0  #: done; for a run: every item done, skipped or already done
    ITEMS_FAILED = 1  #: a run finished, but some items FAILED or NEED REVIEW
    USAGE = 2  #: the command line was wrong (unknown option, missing argument)
    ERROR = 3  #: borough could not do what was asked (config, secrets, ledger, disk, run)
    TAMPERED = 4  #: the audit trail failed verification (altered, cut or damaged)


def help_text() -> str:
    """The table for ``borough --help``, one line per code (docs/operations.md has it too)."""
    meaning = {
        ExitCode.OK: "done (a run: every item done, skipped or already done)",
        ExitCode.ITEMS_FAILED: "a run finished, but some items FAILED or NEED REVIEW",
        ExitCode.USAGE: "the command line was wrong (unknown option, missing argument)",
        ExitCode.ERROR: "error: config, secrets, ledger, disk, or a run that could not complete",
        ExitCode.TAMPERED: "the audit trail failed verification (altered, cut or damaged)",
    }
    return "Exit codes:\n\n" + "\n".join(f"* {int(c)}  {meaning[c]}" for c in ExitCode)
