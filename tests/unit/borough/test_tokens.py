"""Tokens and digests stay what they were when they are computed a cheaper way: a token
already in a trail, a ledger or an auditor's SAR search must still match."""

from __future__ import annotations

import base64
import hmac
import random
import re
import unicodedata

import pytest

from borough.audit.tokens import Tokenizer, is_token, normalise

_SPACES = re.compile(r"\s+")


def _normalise_by_definition(value: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", value).casefold().strip())


@pytest.mark.parametrize("length", [16, 32, 63, 64, 65, 100])
def test_a_token_and_a_digest_are_hmac_sha256_under_the_key(length: int):
    rng = random.Random(length)
    key = rng.randbytes(length)
    tokenizer = Tokenizer(key)
    for value in ("R0001", "Zoë  O'Brien", "AB 12 34 56 C", "", "x" * 300):
        mac = hmac.digest(key, normalise(value).encode(), "sha256")
        assert tokenizer.token(value) == "p_" + base64.b32encode(mac).decode().lower()[:20]
        assert tokenizer.digest(value) == hmac.digest(key, value.encode(), "sha256").hex()
        assert is_token(tokenizer.token(value))


def test_normalising_is_nfkc_casefold_without_any_whitespace():
    rng = random.Random(20)
    alphabet = [chr(c) for c in range(0x3100)] + [" ", "\t", "\n", "\u00a0", "\u2003", "\u3000"]
    for _ in range(20_000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        assert normalise(value) == _normalise_by_definition(value), repr(value)
    assert normalise(" Ab\u00a0C\tD ") == "abcd" and normalise("ﬁle Ǆ") == "filedž"


def test_only_a_whole_token_is_one():
    assert is_token("p_" + "a" * 20)
    assert not is_token("p_" + "a" * 21) and not is_token("p_" + "a" * 19)
    assert not is_token("x_" + "a" * 20) and not is_token("p_" + "A" * 20)
