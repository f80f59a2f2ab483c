"""Item payloads (the key and row data, often personal) are sealed at rest in the ledger."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from borough.errors import LedgerError


class Sealer:
    """Fernet (AES-CBC + HMAC) under the installation's ledger key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("ledger key must be 32 bytes")
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, payload: dict[str, Any]) -> bytes:
        text = json.dumps(payload, ensure_ascii=False, default=str, sort_keys=True)
        return self._fernet.encrypt(text.encode("utf-8"))

    def unseal(self, blob: bytes) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(blob))
        except InvalidToken:
            raise LedgerError(
                "an item payload cannot be decrypted: the ledger was written with other keys "
                "(restore the secret store that belongs to this ledger)"
            ) from None
        return data


class LockedSealer(Sealer):
    """For a ledger opened without the keys (read-only operator commands): run and item
    records can be read, sealed item data cannot be opened or written."""

    def __init__(self) -> None:
        pass

    def seal(self, payload: dict[str, Any]) -> bytes:
        raise LedgerError("this command opened the ledger read-only, without the keys")

    def unseal(self, blob: bytes) -> dict[str, Any]:
        raise LedgerError(
            "this command opened the ledger without the keys, so item data stays sealed "
            "(commands that show it unlock the secret store)"
        )
