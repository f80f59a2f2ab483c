"""Races on the secret store: simultaneous first starts, concurrent secret writers.

Real ``borough`` processes race on one installation. The counts default to what CI can
afford on two cores; raise them on demand::

    BOROUGH_RELIABILITY_STARTS=60 BOROUGH_RELIABILITY_WRITERS=100 \
        .venv/bin/python -m pytest tests/reliability/test_secrets_races.py -q

The fresh-home test deliberately uses the strong, real Argon2 costs: the race is in
creating the store and the keys, so it must not start from a test store made beforehand.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from borough.audit.reading import iter_records
from borough.ledger import ItemState
from borough.secrets.store import STRONG_KDF, recorded_kdf
from borough.testing import counted_writes, home_env, runtime_in
from tests.support.installs import counting_home, people
from tests.support.scheduling import child_env

# real Argon2 costs, 20 processes at once: 236 s and 217 s on a loaded 2-core machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

STARTS = int(os.environ.get("BOROUGH_RELIABILITY_STARTS", "20"))
WRITERS = int(os.environ.get("BOROUGH_RELIABILITY_WRITERS", "20"))


def borough(*args: str) -> list[str]:
    return [sys.executable, "-m", "borough", *args]


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(borough(*args), env=env, capture_output=True, text=True, check=False)


def start_all(commands: list[list[str]], env: dict[str, str], inputs: list[str] | None = None):
    """Start every command before waiting for any (they race), then collect the results."""
    procs = [
        subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for command in commands
    ]
    results = []
    for n, proc in enumerate(procs):
        given = (inputs[n] if inputs else "").encode("utf-8")
        out, _ = proc.communicate(given, timeout=600)
        results.append((proc.returncode, out.decode("utf-8", errors="replace")))
    return results


def test_simultaneous_first_starts_make_one_key_set_and_every_later_run_works(tmp_path: Path):
    rows = people(40)
    home = counting_home(tmp_path / "home", rows)
    (home / "var" / "secrets.cfg").unlink()  # a real first start: no store made beforehand
    env = {**os.environ, **child_env(home)}

    results = start_all([borough("run", "counting-bot", "--quiet")] * STARTS, env)

    assert [code for code, _ in results] == [0] * STARTS, "\n---\n".join(
        out for code, out in results if code
    )
    assert recorded_kdf(home / "var" / "secrets.cfg") in (None, STRONG_KDF)
    writes = counted_writes(home / "var" / "target.sqlite")
    assert sorted(writes) == sorted(row["Ref"] for row in rows)
    assert set(writes.values()) == {1}, "a row was written twice"
    with sqlite3.connect(home / "var" / "ledger.sqlite") as db:
        states = db.execute("SELECT state, COUNT(*) FROM borough_items GROUP BY state").fetchall()
    assert states == [(ItemState.DONE.value, len(rows))], "one item per row, all done"
    one_key_set = run(env, "keys", "show")  # ledger and audit.pub name the store's keys
    assert one_key_set.returncode == 0, one_key_set.stdout + one_key_set.stderr
    later = run(env, "run", "counting-bot", "--quiet")
    assert later.returncode == 0, later.stdout + later.stderr
    verify = run(env, "audit", "verify")  # every run signed with that one key
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_concurrent_secret_writers_lose_nothing(tmp_path: Path):
    home = counting_home(tmp_path / "home", people(1))
    env = {**os.environ, **home_env(home)}
    names = [f"app-login-{n:03d}" for n in range(WRITERS)]
    values = [f"value £{n} for {name}" for n, name in enumerate(names)]

    results = start_all(
        [borough("secrets", "set", name, "--stdin") for name in names], env, inputs=values
    )

    assert [code for code, _ in results] == [0] * WRITERS, "\n---\n".join(
        out for code, out in results if code
    )
    with runtime_in(home) as runtime:
        assert [n for n in runtime.secrets.names() if not n.startswith("borough.")] == names
        assert [runtime.secrets.get(name) for name in names] == values
        audited = [r for r in iter_records(runtime.paths.audit) if r["action"] == "secret.set"]
    assert sorted(r["target"] for r in audited) == names
    verify = run(env, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


HAMMER = """
import sys
from pathlib import Path
from borough.secrets.store import SecretStore
store = SecretStore.open(Path(sys.argv[1]), sys.argv[2])
for n in range(int(sys.argv[4])):
    store.set(f"{sys.argv[3]}-{n:03d}", f"value {n} of {sys.argv[3]}")
"""


def test_writers_hammering_the_store_file_lose_nothing_and_never_break_it(tmp_path: Path):
    """Many writes from several processes at once: every value lands, the store stays whole."""
    home = counting_home(tmp_path / "home", people(1))
    file, passphrase = home / "var" / "secrets.cfg", home_env(home)["BOROUGH_SECRETS_PASSPHRASE"]
    writers, each = 8, 25
    results = start_all(
        [
            [sys.executable, "-c", HAMMER, str(file), passphrase, f"w{n}", str(each)]
            for n in range(writers)
        ],
        {**os.environ, **child_env(home)},
    )

    assert [code for code, _ in results] == [0] * writers, [out for _, out in results]
    with runtime_in(home) as runtime:
        names = [n for n in runtime.secrets.names() if not n.startswith("borough.")]
        assert len(names) == writers * each
        assert runtime.secrets.get("w3-017") == "value 17 of w3"
