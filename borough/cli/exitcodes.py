"""The exit codes of every ``borough`` command (documented in docs/operations.md)."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0  #: done; for a run: every item done, skipped or already done
    ITEMS_FAILED = 1  #: a run finished, but some items FAILED or NEED REVIEW
    USAGE = 2  #: the command line was wrong (unknown option, missing argument)
    ERROR = 3  #: borough could not do what was asked (config, secrets, ledger, disk, run)
    TAMPERED = 4  #: the audit trail failed verification (altered, cut or damaged)
