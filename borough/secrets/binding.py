"""Keys bound to the installation: the ledger records which keys it was written under.

The first runtime of a brand-new installation generates the keys, stores them and records
their fingerprint in the ledger (``borough_meta.keys_fingerprint``); every later runtime
checks that its keys are those, and that the audit trail's ``audit.pub`` is their public
key. A store that is missing, holds no keys or holds other keys is refused with the way
back (restore the backup); new keys are made only where nothing was ever written.

Only one process may make the keys: the decision is taken under the store's lock, after
reading the store again. The store is written before the ledger, so a process that dies
between the two leaves keys that the next start records, never a ledger bound to keys
that were lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from borough.audit.chain import LOG_NAME, PUBLIC_KEY_NAME
from borough.audit.segments import closed_segments
from borough.config.loader import Config
from borough.errors import KeysMismatchError, LedgerError, StoreMissingError
from borough.host import host_name
from borough.ledger import Ledger, Sealer, open_ledger, schema
from borough.secrets import storefile
from borough.secrets.handed import HandedSecrets, RunBundle
from borough.secrets.keys import KEYS_SECRET, KeyMaterial, short_fingerprint, stored_keys
from borough.secrets.store import SecretStore, holds
from borough.secrets.writerkeys import writer_key

FINGERPRINT_KEY = "keys_fingerprint"
RECOVERY = (
    "Restore this installation's store from its backup: `borough keys restore BACKUP_FILE` "
    "(it checks the backup against the ledger first). docs/operations.md, 'Keys and the "
    "secret store', says what to do if no backup exists"
)


@dataclass
class Unlocked:
    """An installation's open secret store, its keys, and its ledger opened with them."""

    store: SecretStore
    keys: KeyMaterial
    ledger: Ledger


def unlock_installation(
    config: Config, passphrase: str, *, on_value: Callable[[str], None] | None = None
) -> Unlocked:
    """Open the store, its keys and the ledger, checked against each other (or make them
    for a brand-new installation). Raises a :class:`~borough.errors.SecretsError` that
    says what is wrong and what to do."""
    file = config.secrets_file
    try:
        store: SecretStore | None = SecretStore.open(
            file, passphrase, on_value=on_value, verify=False
        )
    except StoreMissingError:
        store = None
    if store is None or not store.has(KEYS_SECRET):
        store = _first_use(config, passphrase, store, on_value)
    keys = stored_keys(store)
    assert keys is not None  # _first_use returns a store holding keys
    ledger = open_ledger(config.ledger_url, Sealer(keys.ledger_key))
    try:
        keys = check_binding(keys, ledger, config.paths.audit, file, store=store)
    except BaseException:
        ledger.close()
        raise
    return Unlocked(store, keys, ledger)


def open_handed(
    config: Config, bundle: RunBundle, *, on_value: Callable[[str], None] | None = None
) -> Unlocked:
    """A scheduled run's keys and secrets, as the scheduler handed them (no key derivation),
    and its ledger, checked against each other as :func:`unlock_installation` does."""
    keys = KeyMaterial.loads(bundle.keys)
    store = HandedSecrets(config.secrets_file, bundle, on_value=on_value)
    ledger = open_ledger(config.ledger_url, Sealer(keys.ledger_key))
    try:
        check_binding(keys, ledger, config.paths.audit, config.secrets_file)
    except BaseException:
        ledger.close()
        raise
    return Unlocked(store, keys, ledger)


def _first_use(
    config: Config,
    passphrase: str,
    store: SecretStore | None,
    on_value: Callable[[str], None] | None,
) -> SecretStore:
    """No store, or no keys in it: under the lock, look again, then make them if new."""
    file = config.secrets_file
    with storefile.store_lock(file):
        if file.exists() and holds(file, KEYS_SECRET):
            made = None  # another process made them while this one waited
        else:
            if store is None and file.exists():
                store = SecretStore.open(file, passphrase, on_value=on_value)
            made = _make_keys(config, passphrase, store, on_value)
    if made is not None:
        return made
    return store or SecretStore.open(file, passphrase, on_value=on_value, verify=False)


def _make_keys(
    config: Config,
    passphrase: str,
    store: SecretStore | None,
    on_value: Callable[[str], None] | None,
) -> SecretStore:
    keys = KeyMaterial.generate()
    ledger = open_ledger(config.ledger_url, Sealer(keys.ledger_key))
    try:
        found = history(ledger, config.paths.audit)
        if found and store is None:
            raise StoreMissingError(
                f"the secret store {config.secrets_file} is missing, but this installation "
                f"already has keys ({'; '.join(found)}). borough will not make new keys (the "
                f"ledger's items could not be read, tokens would change and the trail's "
                f"signatures would not match). {RECOVERY}"
            )
        if found:
            raise KeysMismatchError(
                f"the secret store {config.secrets_file} holds no borough keys, but this "
                f"installation already has keys ({'; '.join(found)}). borough will not make new "
                f"ones. {RECOVERY}"
            )
        if store is None:
            store = SecretStore.create(config.secrets_file, passphrase, on_value=on_value)
        store.set(KEYS_SECRET, keys.dumps())
        record_fingerprint(ledger, keys.fingerprint())
    finally:
        ledger.close()
    return store


def history(ledger: Ledger, audit: Path) -> list[str]:
    """What shows that an installation already had keys (empty: it is brand new)."""
    found = []
    recorded = recorded_fingerprint(ledger)
    if recorded:
        found.append(f"the ledger records keys {short_fingerprint(recorded)}")
    with ledger.engine.connect() as conn:
        runs = conn.execute(select(func.count()).select_from(schema.runs)).scalar_one()
    if runs:
        found.append(f"the ledger holds {runs} run(s)")
    log = audit / LOG_NAME
    if (log.exists() and log.stat().st_size > 0) or closed_segments(audit):
        found.append("the audit trail holds records")
    if (audit / PUBLIC_KEY_NAME).exists():
        found.append(f"{PUBLIC_KEY_NAME} holds the trail's public key")
    if found:
        found.append(f"ledger {ledger.url}, audit trail {audit}")
    return found


def recorded_fingerprint(ledger: Ledger) -> str | None:
    query = select(schema.meta.c.value).where(schema.meta.c.key == FINGERPRINT_KEY)
    with ledger.engine.connect() as conn:
        value: str | None = conn.execute(query).scalar_one_or_none()
    return value


def record_fingerprint(ledger: Ledger, fingerprint: str) -> str:
    """Record ``fingerprint`` unless one is recorded; returns the one recorded."""
    try:
        with ledger.engine.begin() as conn:
            conn.execute(insert(schema.meta).values(key=FINGERPRINT_KEY, value=fingerprint))
        return fingerprint
    except IntegrityError:
        recorded = recorded_fingerprint(ledger)
        if recorded is None:  # pragma: no cover - the row that conflicted is there
            raise LedgerError(f"cannot record the keys' fingerprint in {ledger.url}") from None
        return recorded


def check_binding(
    keys: KeyMaterial,
    ledger: Ledger,
    audit: Path,
    file: Path,
    *,
    store: SecretStore | None = None,
    register: bool = True,
) -> KeyMaterial:
    """Refuse keys that are not the ones the ledger and the audit trail were made with.

    Returns ``keys`` with this machine's signing key (its writer's: see
    :mod:`borough.secrets.writerkeys`; registered now if it is new, unless ``register``
    is false, as for a restore that only checks).
    """
    ours = keys.fingerprint()
    recorded = recorded_fingerprint(ledger)
    if recorded is None:
        _check_items_open(keys, ledger, file)
        recorded = record_fingerprint(ledger, ours)
    elif recorded == keys.fingerprint_v1():  # recorded before signing keys were per machine
        recorded = _upgrade_fingerprint(ledger, ours)
    if recorded != ours:
        raise KeysMismatchError(
            f"the secret store {file} holds keys {short_fingerprint(ours)}, but the ledger "
            f"{ledger.url} was written under keys {short_fingerprint(recorded)}: the store "
            f"belongs to another installation, or is a copy from before its keys were made. "
            f"borough will not run with it (the ledger's items could not be read and tokens "
            f"would not match). {RECOVERY}"
        )
    if store is not None:
        signing = writer_key(store, keys, ledger, audit, host_name(), register=register)
        keys = replace(keys, signing_key=signing)
    _check_public_key(keys, audit / PUBLIC_KEY_NAME, file)
    return keys


def _upgrade_fingerprint(ledger: Ledger, fingerprint: str) -> str:
    with ledger.engine.begin() as conn:
        conn.execute(
            update(schema.meta)
            .where(schema.meta.c.key == FINGERPRINT_KEY)
            .values(value=fingerprint)
        )
    return fingerprint


def _check_items_open(keys: KeyMaterial, ledger: Ledger, file: Path) -> None:
    """A ledger from before fingerprints: its newest sealed item must open with our key."""
    query = (
        select(schema.items.c.payload)
        .where(schema.items.c.payload.is_not(None))
        .order_by(schema.items.c.id.desc())
        .limit(1)
    )
    with ledger.engine.connect() as conn:
        blob = conn.execute(query).scalar_one_or_none()
    if blob is None:
        return
    try:
        Sealer(keys.ledger_key).unseal(blob)
    except LedgerError:
        raise KeysMismatchError(
            f"the ledger {ledger.url} holds items sealed under other keys than those in the "
            f"secret store {file}. {RECOVERY}"
        ) from None


def _check_public_key(keys: KeyMaterial, pub: Path, file: Path) -> None:
    if trail_key_state(keys, pub) == "differs":
        raise KeysMismatchError(
            f"the audit trail's public key {pub} is not the signing key in the secret store "
            f"{file} (fingerprint {short_fingerprint(keys.fingerprint())}): the trail was "
            f"signed by other keys, or the file was altered. {RECOVERY}; if the store is "
            "right, restore audit.pub from your exported copy (`borough audit public-key`)"
        )


def trail_key_state(keys: KeyMaterial, pub: Path) -> str:
    """``absent``, ``agrees`` or ``differs``: the trail's ``audit.pub`` against ``keys``."""
    if not pub.exists():
        return "absent"
    raw = (Encoding.Raw, PublicFormat.Raw)
    try:
        theirs = load_pem_public_key(pub.read_bytes()).public_bytes(*raw)
    except (ValueError, TypeError):  # not PEM, or not an Ed25519 key
        return "differs"
    return "agrees" if theirs == keys.public_key.public_bytes(*raw) else "differs"
