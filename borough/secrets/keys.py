"""borough's own keys (audit signing, PII tokens, ledger payloads), kept in the secret store."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from borough.errors import SecretsError, StoreDamagedError
from borough.secrets.store import SecretStore

KEYS_SECRET = "borough.keys"
KEYS_VERSION = 1
_FINGERPRINT_LABEL_V1 = b"borough keys fingerprint v1\0"
_FINGERPRINT_LABEL = b"borough keys fingerprint v2\0"


@dataclass(frozen=True)
class KeyMaterial:
    """Keys generated on first use; losing them breaks tokens and signatures, so back them up."""

    signing_key: Ed25519PrivateKey
    token_key: bytes
    ledger_key: bytes

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    def fingerprint(self) -> str:
        """``sha256:<hex>`` naming the installation's shared keys: recorded in the ledger,
        shown to operators.

        It covers a keyed check value of the token key and of the ledger's sealing key, so
        two installations never share it, and it reveals nothing that helps to find a key.
        Signing keys are per runner machine and registered in the ledger on their own
        (:mod:`borough.secrets.writerkeys`), so they are not part of it.
        """
        digest = hashlib.sha256(_FINGERPRINT_LABEL)
        self._checks(digest)
        return "sha256:" + digest.hexdigest()

    def fingerprint_v1(self) -> str:
        """The fingerprint ledgers recorded before signing keys were per machine (it also
        covered the signing public key); such a record is replaced by :meth:`fingerprint`."""
        public = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        digest = hashlib.sha256(_FINGERPRINT_LABEL_V1 + public)
        self._checks(digest)
        return "sha256:" + digest.hexdigest()

    def _checks(self, digest: Any) -> None:
        for key, label in ((self.token_key, b"token"), (self.ledger_key, b"ledger")):
            digest.update(hmac.new(key, b"borough key check: " + label, hashlib.sha256).digest())

    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    @classmethod
    def generate(cls) -> KeyMaterial:
        return cls(
            signing_key=Ed25519PrivateKey.generate(),
            token_key=secrets.token_bytes(32),
            ledger_key=secrets.token_bytes(32),
        )

    def dumps(self) -> str:
        raw = self.signing_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return json.dumps(
            {
                "version": KEYS_VERSION,
                "signing_key": _b64(raw),
                "token_key": _b64(self.token_key),
                "ledger_key": _b64(self.ledger_key),
            }
        )

    @classmethod
    def loads(cls, text: str) -> KeyMaterial:
        try:
            data = json.loads(text)
            version = data.get("version")
            if version != KEYS_VERSION:
                raise SecretsError(
                    f"the stored borough keys have version {version!r}; this borough reads "
                    f"version {KEYS_VERSION} only"
                )
            return cls(
                signing_key=Ed25519PrivateKey.from_private_bytes(_unb64(data["signing_key"])),
                token_key=_unb64(data["token_key"]),
                ledger_key=_unb64(data["ledger_key"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreDamagedError(
                f"the borough keys in the secret store are damaged ({exc}); restore the store "
                "from its backup with `borough keys restore BACKUP_FILE`"
            ) from None


def short_fingerprint(fingerprint: str) -> str:
    """The first 64 bits, grouped for reading aloud: ``3f9a-21c4-d0e1-b2a7``."""
    hexits = fingerprint.removeprefix("sha256:")[:16]
    return "-".join(hexits[n : n + 4] for n in range(0, 16, 4))


def stored_keys(store: SecretStore) -> KeyMaterial | None:
    """The installation's keys as stored, or ``None`` when the store holds none."""
    text = store.find(KEYS_SECRET)
    return None if text is None else KeyMaterial.loads(text)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
