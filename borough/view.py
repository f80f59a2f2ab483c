"""A read-only view of an installation: config and ledger, without the secret store."""

from __future__ import annotations

from dataclasses import dataclass

from borough.config.loader import Config, load_config
from borough.config.paths import Paths
from borough.ledger import Ledger, open_ledger
from borough.ledger.sealing import LockedSealer


@dataclass
class LedgerView:
    """Config and the ledger, opened without the secret store: what read-only operator
    commands (``runs list``, ``items list``, ``schedules list``) need, without the Argon2
    unlock of the store. Nothing is written through it but the ledger's own first-use
    migration, and sealed item data cannot be opened, so the keys' binding to the ledger
    (checked by :func:`open_runtime` before anything is decrypted or signed) is not needed."""

    config: Config
    ledger: Ledger

    @property
    def paths(self) -> Paths:
        return self.config.paths

    def close(self) -> None:
        self.ledger.close()


def open_view(config: Config | None = None, *, read_only: bool = True) -> LedgerView:
    """The installation's config and ledger; no passphrase needed. ``read_only`` (the
    default): its reads never queue behind a run's write transaction; ``audit verify`` asks
    for writes, as it may bring the derived audit index up to date."""
    config = config or load_config()
    config.paths.ensure()  # private folders, as any opening does (an older install tightened)
    return LedgerView(config, open_ledger(config.ledger_url, LockedSealer(), read_only=read_only))
