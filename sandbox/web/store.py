"""The casework app's own SQLite store: cases, logins and injected faults.

Tests read it (from any process) to count exactly what a bot created.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id INTEGER PRIMARY KEY,
    case_ref TEXT NOT NULL UNIQUE,
    claim_ref TEXT NOT NULL,
    account TEXT NOT NULL,
    surname TEXT NOT NULL,
    forenames TEXT NOT NULL,
    nino TEXT NOT NULL,
    change_type TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    weekly_pence INTEGER,
    postcode TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT,
    updated_by TEXT
);
CREATE INDEX IF NOT EXISTS cases_claim ON cases (claim_ref);
CREATE TABLE IF NOT EXISTS logins (
    id INTEGER PRIMARY KEY, username TEXT, at TEXT NOT NULL, ok INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, method TEXT, path TEXT
);
-- the reporting view a supplier grants read access to: no names, NI numbers or postcodes
CREATE VIEW IF NOT EXISTS case_report AS
    SELECT case_ref, claim_ref, account, change_type, effective_date, weekly_pence, status,
           created_at
    FROM cases;
"""

CHANGE_TYPES = ("NEW", "CHANGE", "END")
STATUSES = ("Draft", "Open", "Closed")


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Case:
    """One change-of-circumstance case as the app holds it."""

    case_ref: str
    claim_ref: str
    account: str
    surname: str
    forenames: str
    nino: str
    change_type: str
    effective_date: date
    weekly_pence: int | None
    postcode: str
    notes: str
    status: str
    created_at: str

    @property
    def weekly_text(self) -> str:
        """Pounds with the sign, as the app shows it (``£12.50``)."""
        if self.weekly_pence is None:
            return ""
        return f"£{self.weekly_pence // 100:,}.{self.weekly_pence % 100:02d}"

    @property
    def effective_text(self) -> str:
        return self.effective_date.strftime("%d/%m/%Y")


_COLUMNS = (
    "case_ref, claim_ref, account, surname, forenames, nino, change_type, effective_date, "
    "weekly_pence, postcode, notes, status, created_at"
)


def _case(row: tuple[Any, ...]) -> Case:
    values = list(row)
    values[7] = date.fromisoformat(values[7])
    return Case(*values)


class CaseStore:
    """Thread-safe access to the store; every write is one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- cases --------------------------------------------------------------------------
    def create(self, fields: dict[str, Any], *, user: str, status: str = "Open") -> Case:
        """Insert a case; raises :class:`DuplicateCase` if the same change is already held."""
        with self._writing(fields) as db:
            (last,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM cases").fetchone()
            case_ref = f"CW-{last + 1:06d}"
            db.execute(
                f"INSERT INTO cases ({_COLUMNS}, created_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (case_ref, *_case_values(fields), status, utcnow(), user),
            )
        return self._saved(case_ref)

    def update(self, case_ref: str, fields: dict[str, Any], *, user: str) -> Case:
        """Complete or correct a case (a Draft becomes Open)."""
        with self._writing(fields, excluding=case_ref) as db:
            db.execute(
                "UPDATE cases SET claim_ref=?, account=?, surname=?, forenames=?, nino=?, "
                "change_type=?, effective_date=?, weekly_pence=?, postcode=?, notes=?, "
                "status=CASE status WHEN 'Draft' THEN 'Open' ELSE status END, "
                "updated_at=?, updated_by=? WHERE case_ref=?",
                (*_case_values(fields), utcnow(), user, case_ref),
            )
        return self._saved(case_ref)

    @contextmanager
    def _writing(
        self, fields: dict[str, Any], excluding: str | None = None
    ) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction that first refuses a duplicate of ``fields``."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                existing = self._duplicate(fields, excluding=excluding)
                if existing is not None:
                    raise DuplicateCase(existing)
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _saved(self, case_ref: str) -> Case:
        found = self.get(case_ref)
        assert found is not None
        return found

    def _duplicate(self, fields: dict[str, Any], excluding: str | None = None) -> str | None:
        row = self._db.execute(
            "SELECT case_ref FROM cases WHERE claim_ref=? AND change_type=? AND effective_date=? "
            "AND case_ref IS NOT ?",
            (
                fields["claim_ref"],
                fields["change_type"],
                fields["effective_date"].isoformat(),
                excluding,
            ),
        ).fetchone()
        return None if row is None else str(row[0])

    def get(self, case_ref: str) -> Case | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM cases WHERE case_ref=?", (case_ref,)
            ).fetchone()
        return None if row is None else _case(row)

    def search(self, *, claim_ref: str = "", surname: str = "", status: str = "") -> list[Case]:
        """Cases matching every given criterion (surname as a prefix, any case)."""
        where, args = [], []
        if claim_ref:
            where.append("claim_ref = ?")
            args.append(claim_ref.strip().upper())
        if surname:
            where.append("surname LIKE ?")
            args.append(surname.strip() + "%")
        if status:
            where.append("status = ?")
            args.append(status)
        sql = f"SELECT {_COLUMNS} FROM cases"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [_case(row) for row in rows]

    def all_cases(self) -> list[Case]:
        return self.search()

    # -- bookkeeping --------------------------------------------------------------------
    def record_login(self, username: str, ok: bool) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO logins (username, at, ok) VALUES (?, ?, ?)", (username, utcnow(), ok)
            )

    def record_fault(self, kind: str, method: str, path: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO faults (at, kind, method, path) VALUES (?, ?, ?, ?)",
                (utcnow(), kind, method, path),
            )


class DuplicateCase(Exception):
    """The store already holds this change for this claim."""

    def __init__(self, case_ref: str) -> None:
        super().__init__(case_ref)
        self.case_ref = case_ref


def read_counts(path: Path) -> dict[str, Any]:
    """What a test needs to know, read without keeping the store open.

    ``cases`` counts rows, ``per_change`` counts cases per (claim, change, effective date),
    ``logins`` / ``refused_logins`` sign-ins and ``faults`` injected faults by kind.
    """
    with sqlite3.connect(path, timeout=30) as db:
        (cases,) = db.execute("SELECT COUNT(*) FROM cases").fetchone()
        per_change = {
            f"{claim}:{change}:{eff}": n
            for claim, change, eff, n in db.execute(
                "SELECT claim_ref, change_type, effective_date, COUNT(*) FROM cases "
                "GROUP BY claim_ref, change_type, effective_date"
            )
        }
        refs = {
            f"{claim}:{change}:{eff}": ref
            for claim, change, eff, ref in db.execute(
                "SELECT claim_ref, change_type, effective_date, case_ref FROM cases"
            )
        }
        statuses = dict(db.execute("SELECT case_ref, status FROM cases").fetchall())
        (logins,) = db.execute("SELECT COUNT(*) FROM logins WHERE ok").fetchone()
        (refused,) = db.execute("SELECT COUNT(*) FROM logins WHERE NOT ok").fetchone()
        faults = dict(db.execute("SELECT kind, COUNT(*) FROM faults GROUP BY kind").fetchall())
    db.close()
    return {
        "cases": cases,
        "per_change": per_change,
        "refs": refs,
        "statuses": statuses,
        "logins": logins,
        "refused_logins": refused,
        "faults": faults,
    }


def _case_values(fields: dict[str, Any]) -> tuple[Any, ...]:
    """A case's editable columns, in the order both INSERT and UPDATE name them."""
    return (
        fields["claim_ref"],
        fields["account"],
        fields["surname"],
        fields["forenames"],
        fields["nino"],
        fields["change_type"],
        fields["effective_date"].isoformat(),
        fields.get("weekly_pence"),
        fields["postcode"],
        fields.get("notes", ""),
    )
