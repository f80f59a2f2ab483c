"""Installations with event triggers, and files dropped the way other systems drop them."""

from __future__ import annotations

import functools
import hashlib
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from borough.ledger import RunRecord, Sealer, open_ledger
from borough.testing import COUNTING_KIND, make_home

HEADER = "Ref,Name,Email,Amount\n"
ENTRIES = {
    "counting-bot": "tests.support.bots:CountingBot",
    "mail-bot": "tests.support.bots:MailCountingBot",
    "sleepy-a": "tests.support.scheduling:SleepyBot",
    "sleepy-b": "tests.support.scheduling:SleepyBotB",
}


def events_home(
    root: Path,
    triggers: dict[str, Any],
    *,
    bots: dict[str, dict[str, Any]] | None = None,
    schedules: dict[str, Any] | None = None,
    scheduler: dict[str, Any] | None = None,
    apps: dict[str, Any] | None = None,
    calendars: dict[str, Any] | None = None,
) -> Path:
    """An installation whose ``schedules.yaml`` declares ``triggers``; the counting bot
    reads one input, ``csv``; the mail bot one, ``message``, with the mailbox app ``inbox``."""
    bots = bots if bots is not None else {"counting-bot": {}}
    apps = apps or {"counting": {"kind": COUNTING_KIND, "path": "var/target.sqlite"}}
    files: dict[str, str] = {
        "config/borough.yaml": yaml.safe_dump({"audit": {"checkpoint_every": 500}}),
        "config/apps.yaml": yaml.safe_dump({"apps": apps}),
    }
    for name, settings in bots.items():
        document: dict[str, Any] = {
            "bot": name,
            "entry": ENTRIES[name],
            "apps": [settings.get("app", "counting")],
            "settings": settings,
        }
        if name == "counting-bot":
            document["inputs"] = {"csv": "var/none.csv"}
        if name == "mail-bot":
            document["inputs"] = {"message": "var/none.eml"}
            document["apps"].append(settings.get("mailbox", "inbox"))
        files[f"config/bots/{name}.yaml"] = yaml.safe_dump(document)
    document = {"scheduler": {"kill_grace_seconds": 1, **(scheduler or {})}}
    if calendars:
        document["calendars"] = calendars
    document["schedules"] = schedules or {}
    document["triggers"] = triggers
    files["config/schedules.yaml"] = yaml.safe_dump(document, sort_keys=False)
    return make_home(root, files=files)


def rows_csv(refs: list[int]) -> bytes:
    return (HEADER + "".join(f"R{ref},Person {ref},,{ref % 500}\n" for ref in refs)).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def drop(folder: Path, name: str, data: bytes, *, chunks: int = 1, pause: float = 0.0) -> None:
    """Write ``data`` to ``folder/name`` in ``chunks`` writes with ``pause`` between them,
    as a slow export would (the file exists, half-written, meanwhile)."""
    path = folder / name
    step = max(1, -(-len(data) // chunks))
    with open(path, "wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            os.fsync(handle.fileno())
            if pause and start + step < len(data):
                time.sleep(pause)


def runs_of(home: Path, name: str) -> list[RunRecord]:
    """The runs a trigger (or schedule) started, read without the secret store."""
    path = home / "var/ledger.sqlite"
    if not path.exists():
        return []
    ledger = open_ledger(f"sqlite:///{path}", Sealer(os.urandom(32)))
    try:
        return ledger.runs.list(schedule=name, limit=10_000)
    finally:
        ledger.close()


def mailbox_app(server: Any, **extra: Any) -> dict[str, Any]:
    """apps.yaml entry ``inbox`` for a test IMAP server (its password in secret ``inbox``)."""
    return {
        "kind": "mail",
        "imap": {"host": server.host, "port": server.port, "security": "none"},
        "username": server.user,
        "credential": "inbox",
        **extra,
    }


def start_scheduler(home: Path, name: str) -> subprocess.Popen[bytes]:
    """``borough serve scheduler`` in its own process, its output in ``home/<name>.out``."""
    from tests.support.scheduling import child_env

    with open(home / f"{name}.out", "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "borough", "serve", "scheduler"],
            env={**os.environ, **child_env(home), "COLUMNS": "200"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def kill_and_restart_at(
    home: Path,
    current: list[subprocess.Popen[bytes]],
    reached: Callable[[float], bool],
    rng: random.Random,
    what: str,
    *,
    fractions: tuple[float, ...] = (0.3, 0.6),
) -> int:
    """SIGKILL the scheduler ``current[0]`` once ``reached(fraction)`` for each fraction
    and start it again after a short random pause (``current[0]`` is always the live one,
    for the caller to stop); the number of kills that landed on a live scheduler."""
    from tests.support.reliability import Kills

    kills = Kills(rng)
    for n, fraction in enumerate(fractions, 1):
        point = functools.partial(reached, fraction)
        kills.at(current[0], point, what=f"{fraction:.0%} of the {what}", timeout=600, poll=0.1)
        time.sleep(rng.uniform(0.1, 1.5))
        current[0] = start_scheduler(home, f"restart-{n}")
    return kills.landed
