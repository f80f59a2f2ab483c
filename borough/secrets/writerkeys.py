"""Each runner machine signs its own audit trail with its own key pair.

The installation's keys (``borough.keys``: the token key, the ledger's sealing key and a
first signing key) are shared by every machine; the ledger's fingerprint covers the shared
ones. Signing keys are per writer (``borough.host.host_name()``): the first machine signs
with the installation's signing key, every further machine gets its own, made on its
first start and kept in the store (``borough.audit-key.<host>-<digest>``); each writer's public key
is registered in the ledger (``borough_audit_writers``), so that any machine, or an
auditor with ledger access, can verify every trail. A writer whose registered key is not
in the store is refused, as is a trail whose ``audit.pub`` is not its writer's key.

A key is made under the store's lock after reading the store again, so two processes
starting at once on one machine never make two keys.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_public_key,
)

from borough.audit.files import PUBLIC_KEY_NAME
from borough.errors import KeysMismatchError
from borough.ledger import Ledger
from borough.secrets import storefile
from borough.secrets.keys import KeyMaterial
from borough.secrets.store import SecretStore

WRITER_KEY_PREFIX = "borough.audit-key."
RECOVERY = (
    "Restore this machine's store from its backup (`borough keys restore BACKUP_FILE`); "
    "docs/audit.md, 'Many machines', says how writers and their keys are kept"
)


def public_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _raw_public(pem: bytes) -> bytes | None:
    try:
        key = load_pem_public_key(pem)
        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    except (ValueError, TypeError):
        return None


def writer_secret(host: str) -> str:
    """The store's name for ``host``'s key: secret names allow fewer characters than hosts."""
    safe = re.sub(r"[^a-z0-9._-]+", "-", host.lower())[:30]
    return f"{WRITER_KEY_PREFIX}{safe}-{hashlib.sha256(host.encode()).hexdigest()[:12]}"


def stored_writer_key(store: SecretStore, host: str) -> Ed25519PrivateKey | None:
    return _writer_key_named(store, writer_secret(host))


def _key_text(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def writer_key(
    store: SecretStore,
    keys: KeyMaterial,
    ledger: Ledger,
    audit: Path,
    host: str,
    *,
    register: bool = True,
) -> Ed25519PrivateKey:
    """This machine's signing key (see the module docstring); registers it if it is new."""
    own = stored_writer_key(store, host)
    registered = ledger.audit_writers.get(host)
    if registered is not None:
        return _registered(registered.public_key, own, keys, ledger, host)
    if not register:
        return own or keys.signing_key
    choice = own or _trail_key(audit, keys, store) or _first_or_new(store, keys, ledger, host)
    found = ledger.audit_writers.register(host, public_pem(choice), str(audit))
    return _registered(found.public_key, choice, keys, ledger, host)


def _registered(
    pem: str,
    own: Ed25519PrivateKey | None,
    keys: KeyMaterial,
    ledger: Ledger,
    host: str,
) -> Ed25519PrivateKey:
    for key in (own, keys.signing_key):
        if key is not None and public_pem(key) == pem:
            return key
    raise KeysMismatchError(
        f"the ledger {ledger.url} registers another audit signing key for the writer {host} "
        "than this secret store holds: the store is another machine's copy, or this "
        f"machine's keys were lost. borough will not sign {host}'s trail with another key. "
        f"{RECOVERY}"
    )


def _trail_key(audit: Path, keys: KeyMaterial, store: SecretStore) -> Ed25519PrivateKey | None:
    """The key the trail here is already signed by, when this store holds it: the
    installation's, or another writer's whose folder this host shares (one chain, one key)."""
    try:
        pem = (audit / PUBLIC_KEY_NAME).read_bytes()
    except FileNotFoundError:
        return None
    signed_by = _raw_public(pem)
    candidates = [keys.signing_key] + [
        key
        for name in store.names()
        if name.startswith(WRITER_KEY_PREFIX)
        and (key := _writer_key_named(store, name)) is not None
    ]
    for key in candidates:
        if key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == signed_by:
            return key
    return None


def _writer_key_named(store: SecretStore, name: str) -> Ed25519PrivateKey | None:
    text = store.find(name)
    if text is None:
        return None
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))


def _first_or_new(
    store: SecretStore, keys: KeyMaterial, ledger: Ledger, host: str
) -> Ed25519PrivateKey:
    """The first writer signs with the installation's key; every later one gets its own."""
    base = public_pem(keys.signing_key)
    if all(w.public_key != base for w in ledger.audit_writers.all()):
        return keys.signing_key
    with storefile.store_lock(store.file):
        again = SecretStore.open(store.file, store.reveal_passphrase(), verify=False)
        made = stored_writer_key(again, host)
        if made is None:
            made = Ed25519PrivateKey.generate()
            again.set(writer_secret(host), _key_text(made))
    return made
