"""Keyed pseudonyms for people: the same identifier always gives the same token.

An auditor answering a subject access request searches the trail for the token of the
person's identifier (``borough audit sar``) without the trail ever holding the identifier.
"""

from __future__ import annotations

import hmac
import re
import unicodedata

TOKEN_PREFIX = "p_"
_TOKEN = re.compile(r"^p_[a-z2-7]{20}$")
_SPACES = re.compile(r"\s+")


def normalise(value: str) -> str:
    """Case, Unicode composition and spacing do not change who a value identifies."""
    text = unicodedata.normalize("NFKC", value).casefold().strip()
    return _SPACES.sub("", text)


def is_token(text: str) -> bool:
    return bool(_TOKEN.match(text))


_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def _base32_100(digest: bytes) -> str:
    """The first 20 characters (100 bits) of ``digest`` in lower-case RFC 4648 base32: what
    ``base64.b32encode(digest).lower()[:20]`` gives, without encoding the rest."""
    bits = int.from_bytes(digest[:13], "big") >> 4
    return "".join([_BASE32[(bits >> shift) & 31] for shift in range(95, -5, -5)])


class Tokenizer:
    """HMAC-SHA256 under the installation's token key, base32, 100 bits."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("token key too short")
        self._key = key

    def token(self, value: str) -> str:
        digest = hmac.digest(self._key, normalise(value).encode("utf-8"), "sha256")
        return TOKEN_PREFIX + _base32_100(digest)

    def __call__(self, value: str) -> str:
        return self.token(value)

    def digest(self, text: str) -> str:
        """Keyed fingerprint of exact content (no normalising), e.g. to spot a corrected row."""
        return hmac.digest(self._key, text.encode("utf-8"), "sha256").hex()
