"""Casework reports (the web casework system's CSV export) for desktop bot tests."""

from __future__ import annotations

import csv
import io
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from borough.testing import home_env, make_home, runtime_in
from sandbox.web.reports import COLUMNS  # the casework report format both apps share

SURNAMES = [
    "Ó Súilleabháin",
    "Brontë",
    "Nuñez",
    "Øvergård",
    "Dvořák",
    "Łukasiewicz",
    "Müller",
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Davies",
    "Evans",
    "Ní Bhriain",
    "Le Blanc",
    "O'Neill",
    "Ahmed",
    "Okafor",
    "Van der Berg",
    "Şahin",
    "Fernández",
    "Kowalczyk",
]
FORENAMES = [
    "Zoë",
    "Siân",
    "Chloé",
    "Bríd",
    "Renée",
    "José",
    "Seán",
    "Anaïs",
    "Þóra",
    "Oliver",
    "Amelia",
    "Jack",
    "Mary-Jane",
    "Émile",
    "Gráinne",
    "Noémie",
    "Dóra",
    "Aoife",
]
POSTCODES = ["LS1 4AP", "CR2 6XH", "M1 1AE", "B33 8TH", "SW1A 1AA", "EH1 1YZ", "CF10 3AT"]
NINO_PREFIXES = ["AB", "CE", "HJ", "PR", "TW", "JM", "KL", "RS"]


def casework_rows(count: int, *, seed: int = 1, start: int = 1) -> list[dict[str, str]]:
    """``count`` valid report rows with £ amounts and accented names (deterministic)."""
    rng = random.Random(seed)
    created = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    rows = []
    for i in range(start, start + count):
        pence = rng.randint(100, 39999)
        rows.append(
            {
                "Case Reference": f"CW-2026-{i:06d}",
                "Claim Reference": f"HB{100000 + i * 7:06d}",
                "Council Tax Account": f"CT{4400000 + i * 13:07d}",
                "Surname": SURNAMES[(i + seed) % len(SURNAMES)],
                "Forenames": FORENAMES[(i * 5 + seed) % len(FORENAMES)],
                "NI Number": f"{NINO_PREFIXES[i % len(NINO_PREFIXES)]}{rng.randint(0, 999999):06d}"
                f"{'ABCD'[i % 4]}",
                "Change Type": ["NEW", "CHANGE", "END"][i % 3],
                "Effective Date": (date(2026, 4, 1) + timedelta(days=i * 3)).strftime("%d/%m/%Y"),
                "Weekly Amount": f"£{pence // 100}.{pence % 100:02d}",
                "Postcode": POSTCODES[i % len(POSTCODES)],
                "Status": "Approved",
                "Created At": (created + timedelta(minutes=i * 17)).isoformat(),
            }
        )
    return rows


def report_csv(rows: list[dict[str, Any]], *, bom: bool = True) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" if bom else "") + out.getvalue()


BOT = "casework-to-revenues-desktop"
RECIPE = "casework-to-revenues-desktop-recipe"  #: the same bot as a recipe (config only)
APP = "revenues-desktop"
SANDBOX_PASSWORD = "Sandbox-£2026!"
ROOT = Path(__file__).resolve().parents[2]
FIELDS = {  # report column -> column of the revenues client's store
    "Case Reference": "case_ref",
    "Claim Reference": "claim_ref",
    "Council Tax Account": "account",
    "Surname": "surname",
    "Forenames": "forenames",
    "NI Number": "nino",
    "Change Type": "change_type",
    "Effective Date": "effective_date",
    "Postcode": "postcode",
    "Weekly Amount": "weekly_amount",
}


def app_command(*, lock_rate: float = 0.0, seed: int = 1, save_delay_ms: int = 0) -> list[str]:
    return [
        "{python}",
        "-m",
        "sandbox.desktop",
        "--db",
        "var/targets/revenues-desktop.sqlite",
        "--lock-rate",
        str(lock_rate),
        "--seed",
        str(seed),
        "--save-delay-ms",
        str(save_delay_ms),
    ]


def desktop_home(
    root: Path,
    rows: list[dict[str, Any]],
    *,
    command: list[str] | None = None,
    app: dict[str, Any] | None = None,
    password: str = SANDBOX_PASSWORD,
    retry: dict[str, Any] | None = None,
    borough: dict[str, Any] | None = None,
    app_name: str = APP,
    bot: str = BOT,
) -> Path:
    """An installation with the shipped app ``app_name`` (``command=None``: attach only),
    the desktop bot reading ``input/casework.csv``, and the app's password in its secrets.

    ``bot=RECIPE``: the recipe version of the bot (its shipped config, keying the same csv)."""
    shipped = yaml.safe_load((ROOT / "config/apps.yaml").read_text(encoding="utf-8"))
    entry = {**shipped["apps"][app_name], **(app or {})}
    entry.pop("command", None)
    if command is not None:
        entry["command"] = command
    bot_config = {
        "bot": BOT,
        "inputs": {"csv": "input/casework.csv"},
        "apps": [app_name],
        "retry": retry or {"attempts": 6, "backoff_seconds": 0.05, "max_backoff_seconds": 0.2},
        "settings": {"target_app": app_name},
    }
    if bot == RECIPE:
        shipped_bot = yaml.safe_load((ROOT / f"config/bots/{RECIPE}.yaml").read_text("utf-8"))
        shipped_bot["recipe"].pop("download")  # the report is given: no casework app
        bot_config = {**shipped_bot, **{k: bot_config[k] for k in ("inputs", "apps", "retry")}}
    home = make_home(
        root,
        files={
            "config/borough.yaml": yaml.safe_dump(borough or {"audit": {"checkpoint_every": 500}}),
            "config/apps.yaml": yaml.safe_dump({"apps": {app_name: entry}}, allow_unicode=True),
            f"config/bots/{bot}.yaml": yaml.safe_dump(bot_config, allow_unicode=True),
            "input/casework.csv": report_csv(rows),
        },
    )
    with runtime_in(home) as runtime:
        runtime.secrets.set(entry["credential"], password)
    return home


def start_client(
    db: Path, display: str, *options: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """The sandbox revenues client on ``display`` (its store in ``db``), once its sign-in
    window shows; the caller terminates it."""
    from connectors.desktop.xwindows import XWindows

    db.parent.mkdir(parents=True, exist_ok=True)
    client = subprocess.Popen(
        [sys.executable, "-m", "sandbox.desktop", "--db", str(db), *options],
        env={**os.environ, "PYTHONPATH": str(ROOT), "DISPLAY": display, **(env or {})},
    )
    windows = XWindows(display)
    try:
        deadline = time.monotonic() + 30
        while not windows.find("Revenues Client - Sign in"):
            assert time.monotonic() < deadline, "the client did not start"
            time.sleep(0.05)
    finally:
        windows.close()
    return client


def app_db(home: Path) -> Path:
    return home / "var/targets/revenues-desktop.sqlite"


def app_records(home: Path) -> dict[str, dict[str, str]]:
    """What the revenues client holds: ``{case reference: {column: value}}``."""
    if not app_db(home).exists():
        return {}
    with closing(sqlite3.connect(app_db(home))) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(row) for row in db.execute("SELECT * FROM changes ORDER BY id")]
    return {row["case_ref"]: row for row in rows}


def app_events(home: Path) -> Counter[str]:
    """How often each event (saved, locked, validation, ...) happened in the client."""
    with closing(sqlite3.connect(app_db(home))) as db:
        return Counter(kind for (kind,) in db.execute("SELECT kind FROM events"))


def expected_record(row: dict[str, str]) -> dict[str, str]:
    """A report row as the client must hold it, field for field."""
    return {column: row[report] for report, column in FIELDS.items()}


def start_bot_run(home: Path, display: str, bot: str = BOT) -> subprocess.Popen[bytes]:
    """``borough run`` of the desktop bot (or its recipe) in its own process (to be killed
    at will)."""
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT), "DISPLAY": display}
    return subprocess.Popen(
        [sys.executable, "-m", "borough", "run", bot, "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def assert_held_once_each(
    home: Path, rows: list[dict[str, str]], bot: str = BOT
) -> dict[str, dict[str, str]]:
    """The client holds every row exactly once, field for field, and the ledger has each
    item DONE with the client's own reference. Returns what the client holds."""
    from borough.ledger import ItemState

    held = app_records(home)
    assert set(held) == {row["Case Reference"] for row in rows}, "no record lost"
    assert app_events(home)["saved"] == len(rows), "no record saved twice"
    for row in rows:
        record = held[row["Case Reference"]]
        assert {k: record[k] for k in expected_record(row)} == expected_record(row)
    with runtime_in(home) as runtime:
        items = runtime.ledger.items.list(bot=bot, limit=len(rows) + 10, unseal=True)
    assert {item.state for item in items} == {ItemState.DONE}
    assert {item.key: item.reference for item in items} == {
        case: record["reference"] for case, record in held.items()
    }
    return held


def audit_count(home: Path, action: str) -> int:
    """How many ``action`` records the installation's audit trail holds so far."""
    trail = home / "logs/audit/audit.jsonl"
    text = trail.read_text(encoding="utf-8") if trail.exists() else ""
    return text.count(f'"action":"{action}"')


def wait_for(
    home: Path, action: str, count: int, run: subprocess.Popen[bytes], timeout: float = 120
) -> None:
    """Until the trail holds ``count`` ``action`` records, or the run has ended."""
    deadline = time.monotonic() + timeout
    while audit_count(home, action) < count and run.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {count} {action} records within {timeout:g} s")
        time.sleep(0.02)
