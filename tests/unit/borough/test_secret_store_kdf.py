"""The secret store records its key-derivation cost, so cheap test stores stay cheap and
real stores stay strong."""

from __future__ import annotations

from pathlib import Path

import pytest

from borough.errors import SecretsError
from borough.secrets.store import (
    STRONG_KDF,
    TEST_ONLY_KDF,
    KdfParams,
    SecretStore,
    recorded_kdf,
)


def test_a_store_made_with_test_costs_records_them_and_reopens_with_them(tmp_path: Path):
    file = tmp_path / "secrets.cfg"
    SecretStore(file, "pass phrase", new_store_kdf=TEST_ONLY_KDF).set("app-login", "s3cret £")

    assert recorded_kdf(file) == TEST_ONLY_KDF
    assert SecretStore(file, "pass phrase").get("app-login") == "s3cret £"


def test_a_store_made_with_default_costs_records_nothing_and_uses_cryptfiles_defaults(
    tmp_path: Path,
):
    file = tmp_path / "secrets.cfg"
    SecretStore(file, "pass phrase")

    assert recorded_kdf(file) is None
    assert "borough_2dkdf" not in file.read_text()
    assert STRONG_KDF.time_cost == 15 and STRONG_KDF.memory_cost == 2**16


def test_the_recorded_cost_is_not_used_for_a_store_being_created(tmp_path: Path):
    """``new_store_kdf`` applies only to a new file: an existing store keeps its own cost."""
    file = tmp_path / "secrets.cfg"
    SecretStore(file, "pass phrase", new_store_kdf=TEST_ONLY_KDF).set("a", "1")
    SecretStore(file, "pass phrase", new_store_kdf=STRONG_KDF).set("b", "2")

    assert recorded_kdf(file) == TEST_ONLY_KDF
    reopened = SecretStore(file, "pass phrase")
    assert (reopened.get("a"), reopened.get("b")) == ("1", "2")


def test_lowering_the_recorded_cost_does_not_open_the_store(tmp_path: Path):
    file = tmp_path / "secrets.cfg"
    two_passes = KdfParams(time_cost=2, memory_cost=8, parallelism=1)
    SecretStore(file, "pass phrase", new_store_kdf=two_passes).set("a", "1")
    file.write_text(file.read_text().replace("t=2,", "t=1,"))

    with pytest.raises(SecretsError):
        SecretStore(file, "pass phrase").get("a")


def test_an_unreadable_cost_record_is_reported_as_damage(tmp_path: Path):
    file = tmp_path / "secrets.cfg"
    SecretStore(file, "pass phrase", new_store_kdf=TEST_ONLY_KDF)
    file.write_text(file.read_text().replace("argon2id:t=1", "argon2id:t=x"))

    with pytest.raises(SecretsError, match="unreadable key-derivation setting"):
        SecretStore(file, "pass phrase")
