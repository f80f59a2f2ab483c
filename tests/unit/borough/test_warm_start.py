"""A scheduled run starts warm: the scheduler hands it, through the pipe, borough's keys and
the secrets its bot uses, never the passphrase, so the run unlocks nothing itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from borough.errors import SecretsError
from borough.ledger import RunStatus
from borough.secrets.handed import MAGIC, RunBundle
from borough.secrets.passphrase import MAX_BYTES
from borough.testing import TEST_PASSPHRASE, home_env, runtime_in
from tests.support.installs import counting_home, people

ROOT = Path(__file__).resolve().parents[3]


def bot_config(home: Path, **changes: object) -> None:
    file = home / "config/bots/counting-bot.yaml"
    document = yaml.safe_load(file.read_text())
    document.update(changes)
    file.write_text(yaml.safe_dump(document))


def home_with_secrets(tmp_path: Path) -> Path:
    home = counting_home(tmp_path, people(3), settings={"use_secret": "api-token"})
    apps = home / "config/apps.yaml"
    document = yaml.safe_load(apps.read_text())
    document["apps"]["counting"]["credential"] = "counting-login"
    apps.write_text(yaml.safe_dump(document))
    bot_config(home, secrets=["api-token"])
    with runtime_in(home) as runtime:
        runtime.secrets.set("counting-login", "login-£-value")
        runtime.secrets.set("api-token", "token-value-7")
        runtime.secrets.set("payroll-db", "not-for-this-bot")
    return home


def test_the_pipe_carries_keys_and_the_bots_secrets_never_the_passphrase(tmp_path: Path):
    home = home_with_secrets(tmp_path)
    with runtime_in(home) as runtime:
        payload = runtime.handover.payload("counting-bot").decode("utf-8")
        keys = runtime.keys.dumps()
    assert payload.startswith(MAGIC)
    assert TEST_PASSPHRASE not in payload
    bundle = RunBundle.loads(payload)
    assert bundle.secrets == {"counting-login": "login-£-value", "api-token": "token-value-7"}
    assert bundle.keys == keys
    assert "not-for-this-bot" not in payload and "payroll-db" not in payload


def run_in_child(home: Path, payload: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    """``borough run counting-bot`` as the scheduler starts it: the payload on a pipe."""
    read_fd, write_fd = os.pipe()
    os.write(write_fd, payload)
    os.close(write_fd)
    env = {k: v for k, v in os.environ.items() if k != "BOROUGH_SECRETS_PASSPHRASE"}
    env.update({k: v for k, v in home_env(home).items() if k != "BOROUGH_SECRETS_PASSPHRASE"})
    env.update(BOROUGH_SECRETS_FD=str(read_fd), PYTHONPATH=str(ROOT))
    try:
        return subprocess.run(
            [sys.executable, "-m", "borough", "run", "counting-bot", "-q", *args],
            env=env,
            pass_fds=(read_fd,),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(read_fd)


def test_a_handed_run_works_without_the_store_and_uses_only_its_secrets(tmp_path: Path):
    home = home_with_secrets(tmp_path)
    with runtime_in(home) as runtime:
        payload = runtime.handover.payload("counting-bot")
    store = home / "var/secrets.cfg"
    store.rename(home / "var/secrets.away")  # the run cannot unlock anything: it must not try
    done = run_in_child(home, payload)
    assert done.returncode == 0, done.stdout + done.stderr
    (home / "var/secrets.away").rename(store)
    with runtime_in(home) as runtime:
        [run] = runtime.ledger.runs.list()
        assert run.status is RunStatus.SUCCEEDED and run.counts.done == 3
    log = next((home / "logs/runs").glob("*.log")).read_text()
    assert "logging in with" in log and "token-value-7" not in log, "handed values are redacted"


def test_a_secret_the_bot_did_not_declare_is_refused_with_the_fix(tmp_path: Path):
    home = home_with_secrets(tmp_path)
    bot_config(home, secrets=[])
    with runtime_in(home) as runtime:
        payload = runtime.handover.payload("counting-bot")
    assert b"token-value-7" not in payload
    done = run_in_child(home, payload)
    assert done.returncode == 1, done.stdout + done.stderr
    with runtime_in(home) as runtime:
        errors = {i.error for i in runtime.ledger.items.list(bot="counting-bot")}
    assert any("'api-token' was not handed to this scheduled run" in (e or "") for e in errors)
    assert any("secrets:" in (e or "") for e in errors)


def test_an_operators_new_value_reaches_the_next_run_without_a_restart(tmp_path: Path):
    home = home_with_secrets(tmp_path)
    with runtime_in(home) as scheduler:
        first = RunBundle.loads(scheduler.handover.payload("counting-bot").decode())
        with runtime_in(home) as operator:
            operator.secrets.set("api-token", "rotated-value-8")
        second = RunBundle.loads(scheduler.handover.payload("counting-bot").decode())
    assert first.secrets["api-token"] == "token-value-7"
    assert second.secrets["api-token"] == "rotated-value-8"


def test_without_a_bundle_the_run_gets_the_passphrase(tmp_path: Path):
    home = home_with_secrets(tmp_path)
    (home / "config/bots/broken.yaml").write_text("bot: broken\nmax_run_minutes: soon\n")
    with runtime_in(home) as runtime:
        handover = runtime.handover
        assert handover.payload("broken") == TEST_PASSPHRASE.encode()  # reports its error
        assert handover.payload(None) == TEST_PASSPHRASE.encode()  # not a run of a bot
        runtime.secrets.set("api-token", "x" * MAX_BYTES)  # too big for a pipe's buffer
        assert handover.payload("counting-bot") == TEST_PASSPHRASE.encode()


def test_a_handed_store_cannot_be_changed_or_listed_beyond_the_bundle(tmp_path: Path):
    from borough.secrets.handed import HandedSecrets

    bundle = RunBundle("{}", {"a": "1"}, ("gone",))
    store = HandedSecrets(tmp_path / "secrets.cfg", bundle)
    assert store.get("a") == "1" and store.names() == ["a"] and store.find("gone") is None
    with pytest.raises(SecretsError, match="no secret named 'gone'"):
        store.get("gone")
    for change in (lambda: store.set("a", "2"), lambda: store.delete("a")):
        with pytest.raises(SecretsError, match="cannot change the secret store"):
            change()
    with pytest.raises(SecretsError, match="not the passphrase"):
        store.reveal_passphrase()
