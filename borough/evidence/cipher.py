"""Evidence files sealed at rest: AES-256-GCM under a key derived from the ledger key.

A sealed file is ``MAGIC`` (8 bytes), a format version (1 byte), a 12-byte random nonce,
then the ciphertext with its 16-byte tag. The file's path relative to ``logs/`` is
authenticated with it (associated data), so a file copied or renamed to stand for another
piece of evidence does not open. The key is derived with HKDF under its own label, so no
new key is stored and the installation's key fingerprint is unchanged.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from borough.errors import EvidenceError

MAGIC = b"BRGHSEAL"
VERSION = 1
_NONCE = 12
_HEADER = len(MAGIC) + 1 + _NONCE
_LABEL = b"borough evidence files v1"


def is_sealed(data: bytes) -> bool:
    return data[: len(MAGIC)] == MAGIC


class FileCipher:
    """Seals and opens evidence files; ``relative`` is the file's path under ``logs/``."""

    def __init__(self, ledger_key: bytes) -> None:
        if len(ledger_key) < 32:
            raise ValueError("the ledger key must be 32 bytes")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(ledger_key)
        self._aead = AESGCM(key)

    def seal(self, data: bytes, relative: str) -> bytes:
        nonce = os.urandom(_NONCE)
        head = MAGIC + bytes([VERSION])
        return head + nonce + self._aead.encrypt(nonce, data, head + relative.encode("utf-8"))

    def open(self, sealed: bytes, relative: str) -> bytes:
        """The clear content; :class:`EvidenceError` if it is not sealed, of an unknown
        version, altered, moved, or sealed under other keys."""
        if not is_sealed(sealed):
            raise EvidenceError(f"{relative} is not a sealed evidence file")
        version = sealed[len(MAGIC)]
        if version != VERSION:
            raise EvidenceError(
                f"{relative} is sealed in format version {version}; this borough reads "
                f"version {VERSION} only"
            )
        head = sealed[: len(MAGIC) + 1]
        nonce = sealed[len(MAGIC) + 1 : _HEADER]
        try:
            return self._aead.decrypt(nonce, sealed[_HEADER:], head + relative.encode("utf-8"))
        except InvalidTag:
            raise EvidenceError(
                f"{relative} cannot be decrypted: it was altered, moved from another place, "
                "or sealed with another installation's keys"
            ) from None
