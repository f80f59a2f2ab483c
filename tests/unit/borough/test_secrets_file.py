"""The store file's rules, the passphrase hand-over and the keys' fingerprint, in one process."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from borough.errors import SecretsError, StoreDamagedError, StoreMissingError
from borough.secrets.keys import KeyMaterial, short_fingerprint
from borough.secrets.passphrase import FD_ENV, Handover, take_passphrase
from borough.secrets.store import TEST_ONLY_KDF, SecretStore
from borough.secrets.storefile import lock_path, store_lock

PASS = "pass phrase"


def test_a_new_store_and_its_lock_are_private_and_the_store_carries_its_checksum(
    tmp_path: Path,
):
    file = tmp_path / "secrets.cfg"
    store = SecretStore.create(file, PASS, kdf=TEST_ONLY_KDF)
    store.set("app-login", "s3cret")

    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(lock_path(file).stat().st_mode) == 0o600
    assert file.read_bytes().startswith(b"[borough_store]\nformat = 1\nsha256 = ")
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("content", [b"", b"[borough_store]\n"])
def test_create_never_replaces_an_existing_file(tmp_path: Path, content: bytes):
    file = tmp_path / "secrets.cfg"
    file.write_bytes(content)

    with pytest.raises(SecretsError, match="not replacing it"):
        SecretStore.create(file, PASS, kdf=TEST_ONLY_KDF)

    assert file.read_bytes() == content


def test_open_never_creates(tmp_path: Path):
    with pytest.raises(StoreMissingError):
        SecretStore.open(tmp_path / "secrets.cfg", PASS)
    assert not (tmp_path / "secrets.cfg").exists()


def test_a_store_altered_between_reads_is_caught_at_the_next_read(tmp_path: Path):
    file = tmp_path / "secrets.cfg"
    store = SecretStore.create(file, PASS, kdf=TEST_ONLY_KDF)
    store.set("a", "one")
    file.write_bytes(file.read_bytes().replace(b"[borough]", b"[borougH]"))

    with pytest.raises(StoreDamagedError, match="does not match its checksum"):
        SecretStore.open(file, PASS, verify=False).find("a")


def test_the_lock_is_reentrant_in_a_process_and_exclusive_between_threads(tmp_path: Path):
    file = tmp_path / "secrets.cfg"
    order: list[str] = []
    with store_lock(file), store_lock(file):
        thread = threading.Thread(target=lambda: _hold(file, order))
        thread.start()
        thread.join(0.3)
        order.append("main")
    thread.join(5)
    assert order == ["main", "thread"]


def _hold(file: Path, order: list[str]) -> None:
    with store_lock(file):
        order.append("thread")


def test_the_lock_times_out_with_a_message_naming_the_lock_file(tmp_path: Path):
    file = tmp_path / "secrets.cfg"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from borough.secrets.storefile import store_lock\n"
            "with store_lock(Path(sys.argv[1])):\n print('held', flush=True); time.sleep(30)",
            str(file),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with (
            pytest.raises(SecretsError, match=r"secrets\.cfg\.lock"),
            store_lock(file, timeout=0.2),
        ):
            pass
    finally:
        holder.kill()
        holder.communicate()


def test_take_passphrase_removes_it_from_this_process_and_remembers_it(monkeypatch):
    monkeypatch.setenv("BOROUGH_TEST_PASS", "from the shell")

    assert take_passphrase("BOROUGH_TEST_PASS") == "from the shell"
    assert "BOROUGH_TEST_PASS" not in os.environ
    assert take_passphrase("BOROUGH_TEST_PASS") == "from the shell"


def test_a_child_reads_the_passphrase_from_the_pipe_and_keeps_it_out_of_its_env():
    handover = Handover("BOROUGH_TEST_PASS", "handed £ over")
    script = (
        "import os; from borough.secrets.passphrase import take_passphrase as t\n"
        "value = t('BOROUGH_TEST_PASS')\n"
        "print(repr(value), 'BOROUGH_SECRETS_FD' in os.environ)"
    )
    env = {**os.environ, "BOROUGH_TEST_PASS": "must not pass"}
    with handover.pipe() as fd:
        child_env = handover.child_env(env, fd)
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=child_env,
            pass_fds=(fd,),
            capture_output=True,
            text=True,
            check=True,
        )

    assert "BOROUGH_TEST_PASS" not in child_env and child_env[FD_ENV] == str(fd)
    assert done.stdout.strip() == "'handed £ over' False"
    assert "handed" not in repr(handover)


def test_a_bad_pipe_number_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(FD_ENV, "not-a-number")
    with pytest.raises(SecretsError, match="BOROUGH_SECRETS_PASSPHRASE"):
        take_passphrase("BOROUGH_TEST_PASS")


def test_the_fingerprint_names_the_key_set_and_shows_no_key():
    keys = KeyMaterial.generate()
    again = KeyMaterial.loads(keys.dumps())
    other = KeyMaterial(keys.signing_key, keys.token_key, os.urandom(32))

    assert keys.fingerprint() == again.fingerprint() != other.fingerprint()
    assert keys.fingerprint().startswith("sha256:") and len(keys.fingerprint()) == 71
    for secret in (keys.token_key, keys.ledger_key):
        assert secret.hex()[:16] not in keys.fingerprint()
    assert len(short_fingerprint(keys.fingerprint())) == 19
