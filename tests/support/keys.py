"""Installations that already have keys, and what to look at when one is refused."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from borough.runner import RunRequest, run_bot
from borough.testing import runtime_in
from tests.support.installs import counting_home, people


def installed(root: Path, rows: int = 5) -> Path:
    """A counting installation (cheap test store) that has run once: it has keys."""
    home = counting_home(root, people(rows))
    with runtime_in(home) as runtime:
        run_bot(runtime, RunRequest(bot="counting-bot"))
    return home


def store_file(home: Path) -> Path:
    return home / "var" / "secrets.cfg"


def ledger_fingerprint(home: Path) -> str | None:
    with sqlite3.connect(home / "var" / "ledger.sqlite") as db:
        row = db.execute("SELECT value FROM borough_meta WHERE key = 'keys_fingerprint'").fetchone()
    return None if row is None else str(row[0])


def item_tokens(home: Path) -> list[str]:
    with sqlite3.connect(home / "var" / "ledger.sqlite") as db:
        return [r[0] for r in db.execute("SELECT key_token FROM borough_items ORDER BY id")]


@dataclass(frozen=True)
class Snapshot:
    """What must not change when borough refuses a store: the store, the binding, the key."""

    store: bytes | None
    fingerprint: str | None
    audit_pub: bytes

    @classmethod
    def of(cls, home: Path) -> Snapshot:
        file = store_file(home)
        return cls(
            file.read_bytes() if file.exists() else None,
            ledger_fingerprint(home),
            (home / "logs" / "audit" / "audit.pub").read_bytes(),
        )
