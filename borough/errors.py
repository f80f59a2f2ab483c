"""Every error borough raises, under one root.

Tree::

    BoroughError
    ├── ConfigError              a config file is malformed or invalid (names file:line, field)
    ├── InputError               an input file (CSV/Excel) cannot be read at all
    ├── SecretsError             the secret store is locked, missing or lacks a value
    │   ├── StoreMissingError    the store file is gone, but this installation has keys
    │   ├── StoreDamagedError    the store file is empty, truncated, unreadable or altered
    │   ├── WrongPassphraseError the store is whole, but the passphrase does not open it
    │   └── KeysMismatchError    the store's keys are not the ones ledger and trail were made with
    ├── LedgerError              the run/work-item ledger cannot be used
    │   ├── LeaseLostError       another run took over an item this run was working
    │   │   └── RunFencedError   this run cannot prove its lease: it stops before any intent
    │   └── SeatUnavailableError no licence seat is free on an app the bot uses (--no-wait)
    ├── AuditError               the audit trail cannot be written or read
    ├── EvidenceError            an evidence file is missing, altered or cannot be decrypted
    ├── OperationError           an operator action (retry, resolve, approval) is refused
    ├── BotNotFoundError         no bot is registered under that name
    ├── ConnectorError           a connector cannot reach or drive its application
    ├── AppDriftError            an app's screens no longer match what its bots declare
    ├── DashboardError           the dashboard cannot start, or an account action is refused
    └── ItemError                raised by a bot while working one item
        ├── BusinessRuleError    the data is wrong for the target: never retried -> FAILED
        ├── TransientError       timeout / app fault / record locked: retried per policy
        ├── NeedsReviewError     a person must decide -> NEEDS_REVIEW
        └── SkipItem             nothing to do for this item -> SKIPPED (not a failure)

The docstring of each class is its default message, so ``raise SecretsError()`` still tells
an operator something useful.
"""

from __future__ import annotations

from pathlib import Path


class BoroughError(Exception):
    """borough failed."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (type(self).__doc__ or "").strip()
        super().__init__(self.message)


class ConfigError(BoroughError):
    """A configuration file is not valid."""

    def __init__(
        self,
        message: str | None = None,
        *,
        file: Path | str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = Path(file) if file is not None else None
        self.line = line
        self.field = field
        self.others: list[ConfigError] = []
        super().__init__(message)

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = str(self.file) + (f":{self.line}" if self.line else "")
        if self.field:
            where = f"{where} [{self.field}]" if where else f"[{self.field}]"
        return f"{where}: {self.message}" if where else self.message


class InputError(BoroughError):
    """An input file cannot be read."""


class SecretsError(BoroughError):
    """The secret store cannot be used."""


class StoreMissingError(SecretsError):
    """The secret store is missing; restore it from its backup (`borough keys restore`)."""


class StoreDamagedError(SecretsError):
    """The secret store is damaged; restore it from its backup (`borough keys restore`)."""


class WrongPassphraseError(SecretsError):
    """The passphrase does not open the secret store; check the passphrase."""


class KeysMismatchError(SecretsError):
    """The secret store holds other keys than this installation's ledger and audit trail."""


class LedgerError(BoroughError):
    """The ledger cannot be used."""


class LeaseLostError(LedgerError):
    """Another run took over this item; this run must stop working it."""


class RunFencedError(LeaseLostError):
    """This run can no longer prove its lease (it was silent too long, or another process
    took it over); it must stop before recording any further intent."""

    def __init__(self, message: str | None = None, *, silent_seconds: float = 0.0) -> None:
        self.silent_seconds = silent_seconds
        super().__init__(message)


class FireRecordedError(LedgerError):
    """This fire time of the schedule is already in the ledger (another scheduler recorded
    it); a fire is recorded once."""


class SeatUnavailableError(LedgerError):
    """No licence seat is free on an app this bot uses."""


class AuditError(BoroughError):
    """The audit trail cannot be written or read."""


class EvidenceError(BoroughError):
    """The evidence file cannot be shown: it is missing, was altered, or was sealed with
    other keys."""


class OperationError(BoroughError):
    """The operator action was refused; nothing was changed."""


class BotNotFoundError(BoroughError):
    """No bot is registered under that name."""


class ConnectorError(BoroughError):
    """A connector cannot reach or drive its application."""


class AppRefusedError(ConnectorError):
    """The app refuses the robot itself (a wrong password, a locked account): no item can
    be worked, and trying each one would only lock the account. The run stops once with
    this message; its items wait, untouched or parked for a check, for the next run."""


class SignInError(AppRefusedError):
    """An application refused the robot's sign-in: the run stops (trying on would fail
    every item, and real apps lock an account after a few refused passwords)."""


class AppDriftError(BoroughError):
    """An app's screens no longer match what its bots declare (`borough check app NAME`)."""

    def __init__(self, message: str | None = None, *, apps: tuple[str, ...] = ()) -> None:
        self.apps = apps
        super().__init__(message)


class DashboardError(BoroughError):
    """The dashboard cannot do that."""


class ItemError(BoroughError):
    """Working one item failed."""

    def __init__(
        self,
        message: str | None = None,
        *,
        app: str | None = None,
        step: str | None = None,
    ) -> None:
        self.app = app
        self.step = step
        super().__init__(message)

    def __str__(self) -> str:
        context = ", ".join(
            part for part in (f"app {self.app}" if self.app else "", self.step or "") if part
        )
        return f"{self.message} ({context})" if context else self.message


class BusinessRuleError(ItemError):
    """The item's data breaks a rule of the target system; fix the data, then retry."""


class TransientError(ItemError):
    """The application failed for a reason that may pass (timeout, fault, record locked)."""


class NeedsReviewError(ItemError):
    """A person must decide what happened to this item."""


class SkipItem(ItemError):
    """There is nothing to do for this item."""
