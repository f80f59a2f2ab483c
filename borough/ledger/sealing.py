"""Item payloads (the key and row data, often personal) are sealed at rest in the ledger."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from borough.errors import LedgerError

#: Marks a payload sealed with AES-256-GCM (``MAGIC + nonce + ciphertext and tag``); a
#: Fernet token (how payloads were sealed before) is base64 text and starts with ``gAAAAA``.
MAGIC = b"bgcm1:"
_GCM_INFO = b"borough.ledger.payload/aes-256-gcm"


class Sealer:
    """AES-256-GCM under a key derived once from the installation's ledger key (Fernet
    tokens written before still open). One cipher object serves every payload, so sealing
    costs an encryption, not a key set-up, per row (ingest seals every row it reads)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("ledger key must be 32 bytes")
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_GCM_INFO)
        self._gcm = AESGCM(derived.derive(key))

    def seal(self, payload: dict[str, Any]) -> bytes:
        return self.seal_text(json.dumps(payload, ensure_ascii=False, default=str, sort_keys=True))

    def seal_text(self, text: str) -> bytes:
        """Seal a payload the caller has already encoded as a JSON object (ingest has its
        canonical form from the row's digest: one encoding per row, not two)."""
        nonce = os.urandom(12)
        return MAGIC + nonce + self._gcm.encrypt(nonce, text.encode("utf-8"), MAGIC)

    def unseal(self, blob: bytes) -> dict[str, Any]:
        blob = bytes(blob)
        try:
            if blob.startswith(MAGIC):
                body = blob[len(MAGIC) :]
                plain = self._gcm.decrypt(body[:12], body[12:], MAGIC)
            else:
                plain = self._fernet.decrypt(blob)
        except (InvalidToken, InvalidTag, ValueError):
            raise LedgerError(
                "an item payload cannot be decrypted: the ledger was written with other keys "
                "(restore the secret store that belongs to this ledger)"
            ) from None
        data: dict[str, Any] = json.loads(plain)
        return data


class LockedSealer(Sealer):
    """For a ledger opened without the keys (read-only operator commands): run and item
    records can be read, sealed item data cannot be opened or written."""

    def __init__(self) -> None:
        pass

    def seal_text(self, text: str) -> bytes:
        raise LedgerError("this command opened the ledger read-only, without the keys")

    def unseal(self, blob: bytes) -> dict[str, Any]:
        raise LedgerError(
            "this command opened the ledger without the keys, so item data stays sealed "
            "(commands that show it unlock the secret store)"
        )
