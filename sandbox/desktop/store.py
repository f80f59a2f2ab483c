"""The revenues client's own database: what was saved, and what happened (locks, sign-ins)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sandbox.desktop.rules import FIELDS

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT UNIQUE,
    {", ".join(f"{name} TEXT NOT NULL" for name in FIELDS)},
    entered_by TEXT NOT NULL,
    entered_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS changes_case_ref ON changes (case_ref);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
"""


class Duplicate(Exception):
    """The case reference is already recorded (the message is the existing reference)."""


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def event(self, kind: str, detail: str = "") -> None:
        self.db.execute(
            "INSERT INTO events (at, kind, detail) VALUES (?, ?, ?)", (_now(), kind, detail)
        )

    def save(self, values: dict[str, str], user: str) -> str:
        """Insert one change and return its reference (REV-000001), all in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute(
                "SELECT reference FROM changes WHERE case_ref = ?", (values["case_ref"],)
            ).fetchone()
            if row is not None:
                raise Duplicate(row[0])
            columns = ", ".join(FIELDS)
            marks = ", ".join("?" for _ in FIELDS)
            cursor = self.db.execute(
                f"INSERT INTO changes ({columns}, entered_by, entered_at) VALUES ({marks}, ?, ?)",
                (*(values[name] for name in FIELDS), user, _now()),
            )
            reference = f"REV-{cursor.lastrowid:06d}"
            self.db.execute(
                "UPDATE changes SET reference = ? WHERE id = ?", (reference, cursor.lastrowid)
            )
            self.db.execute(
                "INSERT INTO events (at, kind, detail) VALUES (?, 'saved', ?)", (_now(), reference)
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return reference

    def search(self, text: str, limit: int = 500) -> list[tuple[str, ...]]:
        """Rows for the grid whose case reference contains ``text`` (all when empty)."""
        return self.db.execute(
            "SELECT reference, case_ref, account, change_type, effective_date, weekly_amount, "
            "entered_by FROM changes WHERE case_ref LIKE ? ORDER BY id DESC LIMIT ?",
            (f"%{text.strip()}%", limit),
        ).fetchall()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
