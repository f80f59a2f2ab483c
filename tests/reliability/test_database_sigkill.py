"""The database bot killed -9 at random moments, cycle after cycle, while new cases keep
arriving in Caseflow: its reporting view read by SQL, the revenues table on the suite's
PostgreSQL written one transaction per case. Nothing lost, nothing written twice.
(``BOROUGH_RELIABILITY_SCALE=N`` runs N times as many cycles.)"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import psycopg
import pytest
import yaml

from borough.testing import make_home, runtime_in
from sandbox.web.store import CaseStore
from tests.support.reliability import (
    TIMEOUT,
    Kills,
    after,
    finish,
    in_order,
    scaled,
    start_run,
)

CYCLES = scaled(30)
PER_CYCLE = 4
BOT = "case-report-to-revenues-db"
TABLE = """CREATE TABLE ctr_changes (
    id SERIAL PRIMARY KEY, case_ref TEXT NOT NULL, claim_ref TEXT NOT NULL,
    account TEXT NOT NULL, change_type TEXT NOT NULL, effective_date TEXT NOT NULL,
    weekly_pence INTEGER)"""  # no unique key: a legacy table, the ledger must keep it exact


def database_home(root: Path, target_url: str) -> Path:
    apps = {
        "caseflow-report": {
            "kind": "database",
            "url": "sqlite:///var/caseflow.sqlite",
            "queries": {
                "open_cases": "SELECT case_ref, claim_ref, account, change_type, effective_date,"
                " weekly_pence FROM case_report WHERE status = :status ORDER BY case_ref"
            },
        },
        "revenues-db": {
            "kind": "database",
            "url": target_url.replace("postgresql://", "postgresql+psycopg://"),
            "credential": "revenues-db-password",
            "queries": {
                "insert_change": "INSERT INTO ctr_changes (case_ref, claim_ref, account,"
                " change_type, effective_date, weekly_pence) VALUES (:case_ref, :claim_ref,"
                " :account, :change_type, :effective_date, :weekly_pence)",
                "find_change": "SELECT id FROM ctr_changes WHERE case_ref = :case_ref",
            },
        },
    }
    bot = {
        "bot": BOT,
        "apps": ["caseflow-report", "revenues-db"],
        "settings": {"pause_seconds": 0.05},
    }
    return make_home(
        root,
        files={
            "config/borough.yaml": yaml.safe_dump({"audit": {"checkpoint_every": 200}}),
            "config/apps.yaml": yaml.safe_dump({"apps": apps}),
            f"config/bots/{BOT}.yaml": yaml.safe_dump(bot),
        },
    )


def add_cases(store: CaseStore, start: int, count: int) -> None:
    for number in range(start, start + count):
        store.create(
            {
                "claim_ref": f"CL{number:06d}",
                "account": f"{40000000 + number}",
                "surname": "Tester",
                "forenames": f"Case {number}",
                "nino": "QQ123456C",
                "change_type": "CHANGE",
                "effective_date": date(2026, 4, 1),
                "weekly_pence": 1000 + number,
                "postcode": "AB1 2CD",
            },
            user="tests",
        )


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT)
def test_database_bot_killed_at_random_moments_loses_and_doubles_nothing(
    tmp_path: Path, postgres_url: str
):
    rng = random.Random(30)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(TABLE)
    home = database_home(tmp_path, postgres_url)
    with runtime_in(home) as runtime:
        runtime.secrets.set("revenues-db-password", "not-needed-by-trust-auth-£")
    store = CaseStore(home / "var/caseflow.sqlite")
    kills = Kills(rng)
    try:
        for cycle in range(CYCLES):
            add_cases(store, cycle * PER_CYCLE, PER_CYCLE)
            started = after(home, "run.start")
            # at ingest, at a case's intent or just after it committed
            work = after(home, "item.intent", "item.done", more=rng.randint(0, 2 * PER_CYCLE))
            kills.at(start_run(home, BOT), in_order(started, work), what="cases", jitter=0.05)
        code, output = finish(start_run(home, BOT), timeout=300)
        assert code == 0, output
        expected = {case.case_ref for case in store.all_cases()}
    finally:
        store.close()
    assert kills.landed >= CYCLES // 2, kills.report()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            "SELECT case_ref, COUNT(*) FROM ctr_changes GROUP BY case_ref"
        ).fetchall()
    written = dict(rows)
    assert set(written) == expected, f"lost: {sorted(expected - set(written))}"
    doubled = {ref: n for ref, n in written.items() if n > 1}
    assert not doubled, f"written twice: {doubled}"
    assert len(expected) == CYCLES * PER_CYCLE
