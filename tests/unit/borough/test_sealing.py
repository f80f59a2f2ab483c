"""Item payloads sealed with AES-256-GCM (one cipher for every row) and those sealed with
Fernet before both open; anything altered, or sealed under other keys, does not."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.fernet import Fernet

from borough.errors import LedgerError
from borough.ledger.sealing import MAGIC, Sealer

KEY = bytes(range(32))
PAYLOAD = {"key": "AB123456C", "data": {"name": "Ann Other", "amount": "12.50"}, "source": "x"}


def test_a_payload_is_sealed_with_a_fresh_nonce_and_opens():
    sealer = Sealer(KEY)
    first, second = sealer.seal(PAYLOAD), sealer.seal(PAYLOAD)
    assert first.startswith(MAGIC) and first != second
    assert b"Ann" not in first and b"AB123456C" not in first
    assert sealer.unseal(first) == sealer.unseal(second) == PAYLOAD


def test_payloads_sealed_with_fernet_before_still_open():
    old = Fernet(base64.urlsafe_b64encode(KEY)).encrypt(json.dumps(PAYLOAD).encode())
    assert Sealer(KEY).unseal(old) == PAYLOAD


@pytest.mark.parametrize("where", [len(MAGIC), len(MAGIC) + 12, -1])
def test_an_altered_payload_is_refused(where: int):
    blob = bytearray(Sealer(KEY).seal(PAYLOAD))
    blob[where] ^= 1
    with pytest.raises(LedgerError, match="cannot be decrypted"):
        Sealer(KEY).unseal(bytes(blob))


def test_a_payload_sealed_under_other_keys_is_refused():
    blob = Sealer(bytes(32)).seal(PAYLOAD)
    with pytest.raises(LedgerError, match="other keys"):
        Sealer(KEY).unseal(blob)
