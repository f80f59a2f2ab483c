"""Back up the secret store, and put a backup back: the recovery path for lost keys.

A backup is a byte copy of the store taken under its lock, so it is never half of one
write and half of the next; it opens only with the store's passphrase. A restore puts a
backup in place only after checking that it is whole, that the passphrase opens it, and
that its keys are the ones this installation's ledger and audit trail were made with; the
store it replaces (if any) is kept beside it, never deleted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from borough.config.loader import Config
from borough.errors import KeysMismatchError, SecretsError
from borough.ledger import Sealer, open_ledger
from borough.secrets import storefile
from borough.secrets.binding import check_binding
from borough.secrets.keys import KeyMaterial, stored_keys
from borough.secrets.store import SecretStore


def backup_store(store: SecretStore, target: Path) -> None:
    """Copy the store to ``target`` (mode 0600; an existing ``target`` is refused)."""
    with store.locked():
        storefile.read_store(store.file)  # whole, checked under the lock
        data = store.file.read_bytes()
        try:
            storefile.write_private(target, data, replace=False)
        except FileExistsError:
            raise SecretsError(
                f"{target} exists; back up to a new file name (a backup is never overwritten)"
            ) from None


@dataclass(frozen=True)
class Restored:
    keys: KeyMaterial
    kept: Path | None  # where the store it replaced was kept, if there was one


def restore_store(config: Config, passphrase: str, backup: Path) -> Restored:
    """Check ``backup`` against this installation, then put it in place of the store."""
    file = config.secrets_file
    try:
        data = backup.read_bytes()
    except OSError as exc:
        raise SecretsError(f"cannot read the backup {backup}: {exc.strerror}") from None
    staged = file.with_name(f".{file.name}.restore-{os.getpid()}")
    try:
        storefile.write_private(staged, data, replace=True)
        keys = _checked(config, passphrase, staged, backup)
        with storefile.store_lock(file):
            kept = None
            if file.exists():
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                kept = file.with_name(f"{file.name}.replaced-{stamp}")
                os.link(file, kept)
            os.replace(staged, file)
            storefile.sync_folder(file.parent)
        return Restored(keys, kept)
    finally:
        staged.unlink(missing_ok=True)
        storefile.lock_path(staged).unlink(missing_ok=True)


def _checked(config: Config, passphrase: str, staged: Path, backup: Path) -> KeyMaterial:
    try:
        store = SecretStore.open(staged, passphrase)
        keys = stored_keys(store)
    except SecretsError as exc:
        raise type(exc)(str(exc).replace(str(staged), f"backup {backup}")) from None
    if keys is None:
        raise KeysMismatchError(f"the backup {backup} holds no borough keys; it cannot be used")
    ledger = open_ledger(config.ledger_url, Sealer(keys.ledger_key))
    try:
        return check_binding(keys, ledger, config.paths.audit, backup, store=store, register=False)
    finally:
        ledger.close()
