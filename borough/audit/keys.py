"""The keys of the trail: Ed25519 signatures (anyone with the public key can check them) and
per-record MACs (only the installation can check them: the MAC key derives from the
signing key, so it is never stored anywhere of its own).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAC_INFO = b"borough.audit.mac/1"
_KEYED: dict[bytes, hmac.HMAC] = {}  #: an HMAC keyed with each MAC key, copied for each MAC
#: Hex characters kept of each record's HMAC-SHA256 (128 bits).
MAC_CHARS = 32


@dataclass(frozen=True)
class AuditKeys:
    """What a writer or a verifier holds: always the public key; the rest with the secret."""

    public_key: Ed25519PublicKey
    signing_key: Ed25519PrivateKey | None = None
    mac_key: bytes | None = None

    @classmethod
    def from_signing_key(cls, key: Ed25519PrivateKey) -> AuditKeys:
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=MAC_INFO).derive(raw)
        return cls(key.public_key(), key, mac_key)

    @classmethod
    def public_only(cls, key: Ed25519PublicKey) -> AuditKeys:
        return cls(key)

    @property
    def can_sign(self) -> bool:
        return self.signing_key is not None

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, payload: bytes) -> str:
        if self.signing_key is None:
            raise ValueError("signing needs the installation's key")
        return base64.b64encode(self.signing_key.sign(payload)).decode("ascii")

    def signature_ok(self, signature: object, payload: bytes) -> bool:
        if not isinstance(signature, str):
            return False
        try:
            self.public_key.verify(base64.b64decode(signature, validate=True), payload)
        except (InvalidSignature, ValueError):
            return False
        return True

    def mac(self, record_hash: str) -> str:
        if self.mac_key is None:
            raise ValueError("a record MAC needs the installation's key")
        keyed = _KEYED.get(self.mac_key)
        if keyed is None:
            keyed = _KEYED[self.mac_key] = hmac.new(self.mac_key, digestmod=hashlib.sha256)
        one = keyed.copy()  # the key's pads are hashed once, not once a record
        one.update(record_hash.encode("ascii"))
        return one.hexdigest()[:MAC_CHARS]

    def mac_ok(self, record_hash: object, mac: object) -> bool:
        if (
            not isinstance(record_hash, str)
            or not isinstance(mac, str)
            or not record_hash.isascii()
        ):
            return False
        return hmac.compare_digest(self.mac(record_hash), mac)
