"""The shipped database bot on the shipped config: Caseflow's reporting view (the demo's
store) into the revenues change table (a SQLite file it prepares), each open case once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from borough.testing import home_env, make_home
from sandbox.web.store import CaseStore
from tests.reliability.test_database_sigkill import BOT, add_cases

ROOT = Path(__file__).resolve().parents[2]


def run_bot(home: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "borough", "run", BOT, "--quiet"],
        env={**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_the_shipped_database_bot_moves_open_cases_once(tmp_path: Path):
    home = make_home(tmp_path / "home", config=ROOT / "config")
    store = CaseStore(home / "var/targets/casework/caseflow.sqlite")
    try:
        add_cases(store, 0, 3)
        draft = store.create({**_fields(9), "change_type": "CHANGE"}, user="tests", status="Draft")
        first = run_bot(home)
        add_cases(store, 3, 2)
        second = run_bot(home)
        expected = {c.case_ref for c in store.all_cases() if c.status == "Open"}
    finally:
        store.close()
    assert first.returncode == 0, first.stderr.decode()
    assert second.returncode == 0, second.stderr.decode()
    with sqlite3.connect(home / "var/targets/revenues/ctr_changes.sqlite") as db:
        written = dict(db.execute("SELECT case_ref, COUNT(*) FROM ctr_changes GROUP BY case_ref"))
    assert written == dict.fromkeys(expected, 1) and len(expected) == 5
    assert draft.case_ref not in written, "a draft is not in the report's open cases"


def _fields(number: int) -> dict[str, object]:
    from datetime import date

    return {
        "claim_ref": f"CL{number:06d}",
        "account": f"{40000000 + number}",
        "surname": "Tester",
        "forenames": f"Case {number}",
        "nino": "QQ123456C",
        "effective_date": date(2026, 4, 1),
        "weekly_pence": 1000 + number,
        "postcode": "AB1 2CD",
    }
