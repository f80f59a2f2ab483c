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
from borough.secrets.storefile import read_store, write_store


def rewrite(file: Path, old: str, new: str) -> None:
    """Change the store's recorded cost and write it back with a matching checksum."""
    parser = read_store(file)
    option = "borough_2dkdf"
    parser.set(
        "keyring_2Dsetting", option, parser.get("keyring_2Dsetting", option).replace(old, new)
    )
    write_store(file, parser)


def test_a_store_made_with_test_costs_records_them_and_reopens_with_them(tmp_path: Path):
    file = tmp_path / "secrets.cfg"
    SecretStore.create(file, "pass phrase", kdf=TEST_ONLY_KDF).set("app-login", "s3cret £")

    assert recorded_kdf(file) == TEST_ONLY_KDF
    assert SecretStore.open(file, "pass phrase").get("app-login") == "s3cret £"


def test_a_store_made_with_default_costs_records_nothing_and_uses_cryptfiles_defaults(
    tmp_path: Path,
):
    file = tmp_path / "secrets.cfg"
    SecretStore.create(file, "pass phrase")

    assert recorded_kdf(file) is None
    assert "borough_2dkdf" not in file.read_text()
    assert STRONG_KDF.time_cost == 15 and STRONG_KDF.memory_cost == 2**16


def test_the_recorded_cost_is_not_used_for_a_store_being_created(tmp_path: Path):
    """``kdf`` applies only to a new file: an existing store keeps its own cost."""
    file = tmp_path / "secrets.cfg"
    SecretStore.create(file, "pass phrase", kdf=TEST_ONLY_KDF).set("a", "1")
    SecretStore.open(file, "pass phrase").set("b", "2")

    assert recorded_kdf(file) == TEST_ONLY_KDF
    reopened = SecretStore.open(file, "pass phrase")
    assert (reopened.get("a"), reopened.get("b")) == ("1", "2")


def test_lowering_the_recorded_cost_does_not_open_the_store(tmp_path: Path):
    file = tmp_path / "secrets.cfg"
    two_passes = KdfParams(time_cost=2, memory_cost=8, parallelism=1)
    SecretStore.create(file, "pass phrase", kdf=two_passes).set("a", "1")
    rewrite(file, "t=2,", "t=1,")  # checksum recomputed, as someone capable would

    with pytest.raises(SecretsError):
        SecretStore.open(file, "pass phrase").get("a")


def test_an_unreadable_cost_record_is_reported_as_damage(tmp_path: Path):
    file = tmp_path / "secrets.cfg"
    SecretStore.create(file, "pass phrase", kdf=TEST_ONLY_KDF)
    rewrite(file, "argon2id:t=1", "argon2id:t=x")

    with pytest.raises(SecretsError, match="unreadable key-derivation setting"):
        SecretStore.open(file, "pass phrase")
