"""Signing keys are per runner machine; the ledger's fingerprint covers the shared keys.

A ledger bound before that (its fingerprint also covered the one signing key) is upgraded
in place, and its machine keeps signing with the key its trail was signed with; a runner
added with a copy of the store gets a key of its own, registered in the ledger. A store of
another installation, or one that lost this machine's key, is still refused.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from borough.audit.keys import AuditKeys
from borough.audit.verify import verify_file
from borough.errors import KeysMismatchError
from borough.secrets.keys import stored_keys
from borough.secrets.store import SecretStore
from borough.secrets.writerkeys import public_pem, stored_writer_key, writer_secret
from borough.testing import TEST_PASSPHRASE, runtime_in
from tests.support.keys import Snapshot, installed, ledger_fingerprint, store_file


def writers(home: Path) -> dict[str, str]:
    with sqlite3.connect(home / "var" / "ledger.sqlite") as db:
        return dict(db.execute("SELECT trail, public_key FROM borough_audit_writers").fetchall())


def test_a_ledger_bound_before_per_machine_keys_is_upgraded_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOROUGH_HOST", "runner-1")
    home = installed(tmp_path / "home")
    keys = stored_keys(SecretStore.open(store_file(home), TEST_PASSPHRASE))
    assert keys is not None
    with sqlite3.connect(home / "var" / "ledger.sqlite") as db:
        db.execute(
            "UPDATE borough_meta SET value = ? WHERE key = 'keys_fingerprint'",
            (keys.fingerprint_v1(),),
        )
        db.execute("DELETE FROM borough_audit_writers")
    pub = (home / "logs/audit/audit.pub").read_bytes()
    with runtime_in(home) as runtime:
        assert runtime.keys.signing_key.public_key() == keys.signing_key.public_key()
    assert ledger_fingerprint(home) == keys.fingerprint()
    assert writers(home) == {"runner-1": public_pem(keys.signing_key)}
    assert (home / "logs/audit/audit.pub").read_bytes() == pub


def test_a_runner_added_with_a_copy_of_the_store_signs_with_its_own_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOROUGH_HOST", "runner-1")
    home = installed(tmp_path / "home")
    first_pub = (home / "logs/audit/audit.pub").read_bytes()
    second = tmp_path / "second"
    shutil.copytree(home, second)  # same ledger file for the test: one installation
    shutil.rmtree(second / "logs")
    (second / "var" / "ledger.sqlite").unlink()
    for suffix in ("", "-wal", "-shm"):
        source = home / "var" / f"ledger.sqlite{suffix}"
        if source.exists():
            (second / "var" / f"ledger.sqlite{suffix}").symlink_to(source)
    monkeypatch.setenv("BOROUGH_HOST", "runner-2")
    with runtime_in(second) as runtime:
        runtime.trail.emit("test.hello")
        own = runtime.keys.signing_key
    assert (second / "logs/audit/audit.pub").read_bytes() != first_pub
    store = SecretStore.open(store_file(second), TEST_PASSPHRASE)
    assert store.find(writer_secret("runner-2")) is not None
    assert writers(home)["runner-2"] == public_pem(own)
    assert writers(home)["runner-1"].encode() == first_pub
    with runtime_in(second) as runtime:  # the next start uses the same key
        assert public_pem(runtime.keys.signing_key) == public_pem(own)


def test_a_machine_whose_store_lost_its_own_key_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOROUGH_HOST", "runner-1")
    home = installed(tmp_path / "home")
    before = Snapshot.of(home)
    with sqlite3.connect(home / "var" / "ledger.sqlite") as db:
        db.execute(
            "UPDATE borough_audit_writers SET public_key = ? WHERE trail = 'runner-1'",
            (public_pem(Ed25519PrivateKey.generate()),),
        )
    with (
        pytest.raises(KeysMismatchError, match="registers another audit signing key"),
        runtime_in(home),
    ):
        pass
    assert Snapshot.of(home).store == before.store


def test_hosts_sharing_one_home_continue_its_chain_with_the_key_that_signed_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Two host names on one home (one folder, one store): the first writer to sign the
    trail here may hold a key of its own (the installation's went to a host that wrote no
    record); the next continues the chain with that key instead of refusing it."""
    monkeypatch.setenv("BOROUGH_HOST", "setup")
    home = installed(tmp_path / "home")
    (home / "logs/audit/audit.pub").unlink(missing_ok=True)
    for name in ("logs/audit/audit.jsonl", "logs/audit/audit.head"):
        (home / name).unlink(missing_ok=True)
    with sqlite3.connect(home / "var" / "ledger.sqlite") as db:
        db.execute("DELETE FROM borough_audit_anchors")
        db.execute("DELETE FROM borough_audit_writers WHERE trail != 'setup'")
    signers = {}
    for host in ("host-a", "host-b", "host-a"):
        monkeypatch.setenv("BOROUGH_HOST", host)
        with runtime_in(home) as runtime:
            runtime.trail.emit("bench.step", detail={"host": host})
            signers[host] = public_pem(runtime.keys.signing_key)
    assert signers["host-a"] == signers["host-b"]
    assert writers(home)["host-b"] == signers["host-a"]
    key = stored_writer_key(SecretStore.open(store_file(home), TEST_PASSPHRASE), "host-a")
    assert key is not None and public_pem(key) == signers["host-a"]
    verdict = verify_file(home / "logs/audit", AuditKeys.from_signing_key(key))
    assert verdict.ok, verdict.problem
