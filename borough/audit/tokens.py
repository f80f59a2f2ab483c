"""Keyed pseudonyms for people: the same identifier always gives the same token.

An auditor answering a subject access request searches the trail for the token of the
person's identifier (``borough audit sar``) without the trail ever holding the identifier.
"""

from __future__ import annotations

import base64
import hashlib
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


class Tokenizer:
    """HMAC-SHA256 under the installation's token key, base32, 100 bits."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("token key too short")
        self._key = key

    def token(self, value: str) -> str:
        digest = hmac.new(self._key, normalise(value).encode("utf-8"), hashlib.sha256).digest()
        return TOKEN_PREFIX + base64.b32encode(digest).decode("ascii").lower()[:20]

    def __call__(self, value: str) -> str:
        return self.token(value)

    def digest(self, text: str) -> str:
        """Keyed fingerprint of exact content (no normalising), e.g. to spot a corrected row."""
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()
