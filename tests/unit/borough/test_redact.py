"""Redaction of UK identifiers, registered secrets and registered personal values."""

from __future__ import annotations

import pytest

from borough.audit.redact import Redactor
from borough.audit.tokens import Tokenizer, is_token


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NI number AB123456C on file", "NI number [NINO] on file"),
        ("nino ab 12 34 56 c", "nino [NINO]"),
        ("lives at SW1A 1AA now", "lives at [POSTCODE] now"),
        ("postcode m11ae", "postcode [POSTCODE]"),
        ("sort code 12-34-56 account 12345678", "sort code [BANK] account [BANK]"),
        ("pay 20-00-00, 55779911 today", "pay [BANK] today"),
        ("mail ann.other+x@council.gov.uk please", "mail [EMAIL] please"),
        ("call 07700 900123 or 020 7946 0000", "call [PHONE] or [PHONE]"),
        ("call +44 7700 900123", "call [PHONE]"),
        (
            "case CW-2026-000123 amount £12.50 on 2026-11-23",
            "case CW-2026-000123 amount £12.50 on 2026-11-23",
        ),
        ("claim HB100200 account CT4400013", "claim HB100200 account CT4400013"),
    ],
)
def test_uk_identifiers(text: str, expected: str):
    assert Redactor().redact(text) == expected


def test_registered_secrets_and_their_lines_are_hidden():
    redactor = Redactor()
    redactor.add_secret("user:Pa55£word")
    redactor.add_secret("line-one-secret\nline-two-secret")
    assert redactor.redact("login user:Pa55£word ok") == "login [SECRET] ok"
    assert redactor.redact("saw line-two-secret") == "saw [SECRET]"


def test_personal_values_become_their_token():
    tokens = Tokenizer(b"k" * 32)
    redactor = Redactor(tokenize=tokens)
    redactor.add_personal("Zoë Ó Súilleabháin", "name")
    out = redactor.redact("claimant Zoë Ó Súilleabháin not eligible")
    assert out == f"claimant [name:{tokens.token('Zoë Ó Súilleabháin')}] not eligible"


def test_extra_patterns_from_config():
    assert Redactor([r"UPRN\d{6,12}"]).redact("property UPRN100023336956") == "property [REDACTED]"


def test_tokens_are_stable_keyed_and_normalised():
    a, b = Tokenizer(b"a" * 32), Tokenizer(b"b" * 32)
    assert a.token("AB 12 34 56 C") == a.token("ab123456c")
    assert a.token("Zoë") == a.token("ZOË")
    assert a.token("Zoë") != b.token("Zoë")
    assert is_token(a.token("anyone")) and not is_token("AB123456C")


def test_personal_values_match_any_case_but_never_half_a_word():
    redactor = Redactor()
    redactor.add_personal("Annie Smith", "name")
    redactor.add_personal("Ann", "name")
    assert redactor.redact("ANNIE SMITH and ann, not Annual") == "[name] and [name], not Annual"


def test_every_one_of_many_registered_values_is_found():
    redactor = Redactor()
    for i in range(20_000):
        redactor.add_personal(f"Person{i} Surname{i}", "name")
    assert redactor.redact("saw person19999 surname19999 today") == "saw [name] today"


def test_hashes_and_ids_with_digit_runs_are_not_mistaken_for_bank_or_phone_numbers():
    redactor = Redactor()
    for text in (
        "sha256:99544665f8c7d580288e1bc6cf95d04b7c018245340b55b947065062ea6bcbd5",
        "fingerprint 07700900123abc",
        "ref a12345678",
        "token_12345678",
    ):
        assert redactor.redact(text) == text
    assert redactor.redact("account 12345678.") == "account [BANK]."
    assert redactor.redact("call 07700 900123, or") == "call [PHONE], or"
