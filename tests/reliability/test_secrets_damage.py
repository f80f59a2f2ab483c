"""A missing, damaged, foreign or wrongly unlocked secret store is refused, never replaced.

Each case is refused with its own message saying what to do, and nothing changes: the
store's bytes, the keys' fingerprint in the ledger and the trail's public key stay as
they were (no new keys are made).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.errors import (
    KeysMismatchError,
    SecretsError,
    StoreDamagedError,
    StoreMissingError,
    WrongPassphraseError,
)
from borough.secrets.store import SecretStore
from borough.testing import TEST_PASSPHRASE, home_env, runtime_in
from tests.support.keys import Snapshot, installed, store_file


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return installed(tmp_path / "home")


def refused(home: Path, error: type[SecretsError], passphrase: str = TEST_PASSPHRASE) -> str:
    """Open a runtime on ``home``: it must fail with ``error``; returns the message."""
    with pytest.raises(error) as caught, runtime_in(home, passphrase=passphrase):
        pass
    return str(caught.value)


def test_a_missing_store_is_refused_and_not_recreated(home: Path):
    before = Snapshot.of(home)
    store_file(home).unlink()

    message = refused(home, StoreMissingError)

    assert "is missing" in message and "borough keys restore" in message
    assert "records keys" in message  # says why it is not a new installation
    assert not store_file(home).exists()
    assert Snapshot.of(home) == Snapshot(None, before.fingerprint, before.audit_pub)


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda data: b"", "it is empty"),
        (lambda data: b"\n\n  \n", "it is empty"),
        (lambda data: data[: len(data) // 2], "truncated"),
        (lambda data: data[:40], "checksum"),
        (lambda data: data[:-60], "truncated"),
        (lambda data: data.replace(b"[borough]", b"[borough"), "checksum"),
        (lambda data: b"\x00" * len(data), "does not start like a secret store"),
    ],
    ids=["emptied", "blank", "half", "head-only", "tail-cut", "unparseable", "zeroed"],
)
def test_a_damaged_store_is_refused_as_damaged_and_not_replaced(home: Path, damage, why):
    file = store_file(home)
    file.write_bytes(damage(file.read_bytes()))
    before = Snapshot.of(home)

    message = refused(home, StoreDamagedError)

    assert why in message, message
    assert "borough keys restore" in message and "passphrase" not in message
    assert Snapshot.of(home) == before


def test_every_flipped_byte_is_reported_as_damage_never_as_a_wrong_passphrase(home: Path):
    file = store_file(home)
    original = file.read_bytes()
    outcomes: dict[str, list[int]] = {}
    for offset in range(len(original)):
        flipped = bytearray(original)
        flipped[offset] ^= 0x01
        file.write_bytes(bytes(flipped))
        try:
            SecretStore.open(file, TEST_PASSPHRASE).get("borough.keys")
            outcome = "opened"
        except SecretsError as exc:
            outcome = type(exc).__name__
        outcomes.setdefault(outcome, []).append(offset)

    assert set(outcomes) == {"StoreDamagedError"}, {k: v[:5] for k, v in outcomes.items()}
    file.write_bytes(original)  # and the runtime refuses one too
    flipped = bytearray(original)
    flipped[len(original) // 2] ^= 0x01
    file.write_bytes(bytes(flipped))
    before = Snapshot.of(home)
    assert "does not match its checksum" in refused(home, StoreDamagedError)
    assert Snapshot.of(home) == before


def older_format(file: Path) -> bytes:
    """The store as borough wrote it before the checksum header (cryptfile's own layout)."""
    return file.read_bytes().split(b"\n\n", 1)[1]


def test_a_store_of_the_older_format_opens_and_gains_its_checksum(home: Path):
    file = store_file(home)
    file.write_bytes(older_format(file))

    with runtime_in(home) as runtime:
        assert runtime.secrets.find("borough.keys") is not None

    assert file.read_bytes().startswith(b"[borough_store]\nformat = 1\nsha256 = ")


def test_a_store_of_the_older_format_that_cannot_be_parsed_is_damaged(home: Path):
    file = store_file(home)
    file.write_bytes(older_format(file).replace(b"[borough]", b"[borough"))
    before = Snapshot.of(home)

    assert "cannot be read" in refused(home, StoreDamagedError)
    assert Snapshot.of(home) == before


def test_a_wrong_passphrase_is_told_apart_from_damage(home: Path):
    before = Snapshot.of(home)

    message = refused(home, WrongPassphraseError, passphrase="not the passphrase")

    assert "wrong passphrase" in message and "the file is whole" in message
    assert "Check the passphrase" in message
    assert Snapshot.of(home) == before


def test_a_store_from_another_installation_is_refused(home: Path, tmp_path: Path):
    other = installed(tmp_path / "other")
    shutil.copyfile(store_file(other), store_file(home))
    before = Snapshot.of(home)

    message = refused(home, KeysMismatchError)

    assert "another installation" in message and "borough keys restore" in message
    assert Snapshot.of(home) == before


def test_a_store_without_keys_is_refused_where_the_ledger_has_some(home: Path):
    store_file(home).unlink()
    SecretStore.create(store_file(home), TEST_PASSPHRASE)  # a fresh, empty store
    before = Snapshot.of(home)

    message = refused(home, KeysMismatchError)

    assert "holds no borough keys" in message
    assert Snapshot.of(home) == before


def test_a_trail_signed_by_other_keys_is_refused(home: Path, tmp_path: Path):
    other = installed(tmp_path / "other")
    pub = home / "logs" / "audit" / "audit.pub"
    shutil.copyfile(other / "logs" / "audit" / "audit.pub", pub)
    before = Snapshot.of(home)

    message = refused(home, KeysMismatchError)

    assert "audit.pub" in message and "signed by other keys" in message
    assert Snapshot.of(home) == before


def test_a_ledger_from_before_fingerprints_is_checked_against_its_items(home: Path, tmp_path: Path):
    """An older ledger has no fingerprint: its sealed items must open with the keys."""
    import sqlite3

    other = installed(tmp_path / "other")
    for folder in (home, other):
        with sqlite3.connect(folder / "var" / "ledger.sqlite") as db:
            db.execute("DELETE FROM borough_meta WHERE key = 'keys_fingerprint'")
    (home / "logs" / "audit" / "audit.pub").unlink()
    shutil.copyfile(store_file(other), store_file(home))

    assert "sealed under other keys" in refused(home, KeysMismatchError)
    with runtime_in(other):  # the right keys: the fingerprint is recorded again
        pass
    assert Snapshot.of(other).fingerprint is not None


def test_the_cli_refuses_with_the_message_and_an_error_exit_code(home: Path, monkeypatch):
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    store_file(home).write_bytes(b"")

    result = CliRunner().invoke(app, ["run", "counting-bot"])

    assert result.exit_code not in (0, 1), result.output
    assert "is damaged: it is empty" in result.output
    assert "Traceback" not in result.output
