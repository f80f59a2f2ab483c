"""borough's own keys (audit signing, PII tokens, ledger payloads), kept in the secret store."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from borough.errors import SecretsError
from borough.secrets.store import SecretStore

KEYS_SECRET = "borough.keys"
KEYS_VERSION = 1


@dataclass(frozen=True)
class KeyMaterial:
    """Keys generated on first use; losing them breaks tokens and signatures, so back them up."""

    signing_key: Ed25519PrivateKey
    token_key: bytes
    ledger_key: bytes

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

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
            raise SecretsError(f"the stored borough keys are damaged ({exc})") from None


def load_key_material(store: SecretStore, *, create: bool = True) -> KeyMaterial:
    """The installation's keys, generated and stored on first use when ``create``."""
    text = store.find(KEYS_SECRET)
    if text is not None:
        return KeyMaterial.loads(text)
    if not create:
        raise SecretsError(f"no borough keys in {store.file}; run any bot once to create them")
    keys = KeyMaterial.generate()
    store.set(KEYS_SECRET, keys.dumps())
    return keys


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)
