"""Nothing personal and no secret in clear under a borough home, whatever the bots meet.

Canary people go through every shipped bot (files, web, desktop) as their input rows;
the sandbox apps list other residents (canaries too) beside the forms, re-wrapped and
upper-cased; the apps' error texts carry their own identifiers (Council Tax accounts,
staff logins). Each bot runs three times in one home: a run that succeeds, a run with
failures (evidence captured), and a run killed with SIGKILL mid-item. Then every file
under the home — every zip member, the SQLite files as bytes, run logs — and everything
the runs printed is searched for every canary in plain, JSON-, HTML- and URL-encoded
spelling, in any letter case. The apps' own stores and the input files are the
council's data, not borough's: they live outside the home.

Evidence is sealed, so the scan cannot see into it; a second check opens it and shows
that redaction still works inside (defence in depth) for everything it can know about.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from borough.evidence.access import listed
from borough.testing import home_env, make_home, runtime_in
from sandbox.web import CaseStore, SandboxConfig, serve_in_thread
from tests.conftest import require
from tests.support import casework
from tests.support.leaks import (
    CALLERS,
    DESKTOP_PASSWORD,
    OWN,
    WEB_PASSWORD,
    Person,
    callers_json,
    leaks,
    spaced,
)
from tests.support.reliability import Kills, after
from tests.support.web import FAST_APP, FAST_RETRY, USER, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.xvfb, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SHIPPED = yaml.safe_load((ROOT / "config" / "apps.yaml").read_text(encoding="utf-8"))["apps"]
CTR_COLUMNS = ["Claim Ref", "NI Number", "Surname", "Forenames", "Council Tax Account",
               "Change Type", "Effective From", "Weekly CTR", "Postcode",
               "Address", "Email", "Phone", "Bank"]  # fmt: skip


# -- runs ---------------------------------------------------------------------------------
class Runs:
    """``borough run`` in its own process, as the scheduler starts it; output is kept."""

    def __init__(self, home: Path, display: str | None = None) -> None:
        self.home = home
        self.env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)}
        if display:
            self.env["DISPLAY"] = display
        self.printed: list[tuple[str, str]] = []

    def run(self, bot: str) -> int:
        done = subprocess.run(
            [sys.executable, "-m", "borough", "run", bot],
            env=self.env, cwd=self.home.parent, capture_output=True, text=True, timeout=240,
            check=False,
        )  # fmt: skip
        self.printed.append((f"console of run {len(self.printed) + 1}", done.stdout + done.stderr))
        return done.returncode

    def crash(self, bot: str) -> None:
        """Start a run and SIGKILL it once it has finished one more item (so mid-run)."""
        one_more = after(self.home, "item.done")
        proc = subprocess.Popen(
            [sys.executable, "-m", "borough", "run", bot],
            env=self.env, cwd=self.home.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        kills = Kills()
        landed = kills.at(proc, one_more, what="one more item.done", timeout=180)
        assert landed, "the run ended before it could be killed"
        out = kills.outputs[-1]
        self.printed.append(("console of the killed run", out))


def assert_nothing_in_clear(home: Path, runs: Runs) -> None:
    found = leaks(home, runs.printed)
    assert found == [], "canaries in clear:\n" + "\n".join(found[:40])


def assert_redacted_inside_evidence(home: Path, people: list[Person]) -> int:
    """Defence in depth: inside the sealed evidence (downloads aside, kept as sent), no
    declared value of the bots' own people and no identifier a pattern knows, of anyone."""
    declared = [v for p in people for v in (p.surname, p.forenames, p.nino_plain, p.postcode)]
    declared += [spaced(p.nino_plain) for p in people]
    known = [v for p in people + CALLERS for v in (p.email, p.nino_plain, spaced(p.nino_plain))]
    known += [p.ct_account for p in people]
    opened = 0
    with runtime_in(home) as runtime:
        for captured in listed(runtime.paths.audit):
            if captured.kind == "download":
                continue
            stored = (runtime.paths.logs / captured.relative).read_bytes()
            data = runtime.evidence_cipher.open(stored, captured.relative)
            texts = [data]
            if captured.suffix == ".zip":
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    texts = [archive.read(n) for n in archive.namelist()]
            elif captured.suffix == ".png":
                continue
            opened += 1
            for blob in texts:
                text = blob.decode("utf-8", "replace").lower()
                for value in declared + known:
                    assert value.lower() not in text, f"{value!r} in {captured.relative}"
    return opened


# -- the apps (outside the home) ----------------------------------------------------------
@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The council's side: app stores, input files, the callers the apps list."""
    folder = tmp_path_factory.mktemp("council")
    (folder / "callers.json").write_text(json.dumps(callers_json()), encoding="utf-8")
    return folder


def caseflow(outside: Path, name: str):
    return serve_in_thread(
        SandboxConfig(
            store=outside / f"{name}.sqlite",
            users={USER: WEB_PASSWORD},
            callers=tuple(callers_json()),
            wrap=23,
            fault_rate=0.2,
            fault_kinds=("locked",),  # "Record locked ... (JSMITH on CFW-TERM12)"
            seed=5,
        )
    )


def ctr_rows(people: list[Person], *, claim_base: int = 0, **changes: str) -> list[dict]:
    rows = []
    for n, p in enumerate(people):
        row = {
            "Claim Ref": f"HB{int(p.claim[2:]) + claim_base:06d}",
            "NI Number": p.nino,
            "Surname": p.surname,
            "Forenames": p.forenames,
            "Council Tax Account": p.ct_account,
            "Change Type": "CHANGE",
            "Effective From": f"{6 + n:02d}/04/2026",
            "Weekly CTR": "£25.50",
            "Postcode": p.postcode,
            **p.extra_columns(),
        }
        rows.append({**row, **changes})
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def home_with(root: Path, apps: dict[str, Any], bot: str, bot_config: dict[str, Any]) -> Path:
    return make_home(
        root,
        files={
            "config/borough.yaml": yaml.safe_dump({"audit": {"checkpoint_every": 100}}),
            "config/apps.yaml": yaml.safe_dump({"apps": apps}, allow_unicode=True),
            f"config/bots/{bot}.yaml": yaml.safe_dump({"bot": bot, **bot_config}),
        },
    )


def casework_app(url: str) -> dict[str, Any]:
    return {**SHIPPED["casework"], **FAST_APP, "base_url": url}


# -- the files bot ------------------------------------------------------------------------
def test_files_bot_leaves_nothing_in_clear(tmp_path: Path, outside: Path):
    bot, csv_file = "benefits-to-revenues", outside / "ctr_changes.csv"
    apps = {"revenues-import": {**SHIPPED["revenues-import"], "path": str(outside / "ctr.xlsx")}}
    home = home_with(
        tmp_path / "home", apps, bot,
        {"inputs": {"csv": str(csv_file)}, "apps": ["revenues-import"], "retry": FAST_RETRY,
         "settings": {"target_app": "revenues-import"}},
    )  # fmt: skip
    runs = Runs(home)
    write_csv(csv_file, ctr_rows(OWN[:3]), CTR_COLUMNS)
    assert runs.run(bot) == 0, runs.printed[-1][1]
    failing = ctr_rows(OWN[3:4], **{"Weekly CTR": "£450.00"})  # over the scheme maximum
    failing += ctr_rows(OWN[4:5], **{"NI Number": OWN[4].nino[:-2]})  # not an NI number
    write_csv(csv_file, ctr_rows(OWN[:3]) + failing, CTR_COLUMNS)
    assert runs.run(bot) == 1, runs.printed[-1][1]
    many = [row for n in range(1, 80) for row in ctr_rows(OWN, claim_base=n * 10)]
    write_csv(csv_file, many, CTR_COLUMNS)
    runs.crash(bot)
    with runtime_in(home) as runtime:
        errors = [i.error or "" for i in runtime.ledger.items.list(bot=bot, limit=1000)]
    assert any("scheme maximum" in e for e in errors) and any("NI Number" in e for e in errors)
    assert_nothing_in_clear(home, runs)


# -- the web bot --------------------------------------------------------------------------
def test_web_bot_leaves_nothing_in_clear(tmp_path: Path, outside: Path):
    require_chromium()
    bot, csv_file = "change-of-circumstances", outside / "notifications.csv"
    with caseflow(outside, "caseflow-web") as app:
        home = home_with(
            tmp_path / "home", {"casework": casework_app(app.url)}, bot,
            {"inputs": {"notifications": str(csv_file)}, "apps": ["casework"],
             "retry": FAST_RETRY, "settings": {"app": "casework"}},
        )  # fmt: skip
        with runtime_in(home) as runtime:
            runtime.secrets.set("casework-login", f"{USER}:{WEB_PASSWORD}")
        runs = Runs(home)
        write_csv(csv_file, ctr_rows(OWN[:2]), CTR_COLUMNS)
        assert runs.run(bot) == 0, runs.printed[-1][1]
        failing = ctr_rows(OWN[2:3], **{"Council Tax Account": OWN[2].bad_ct_account})
        failing += ctr_rows(OWN[3:4], Surname=f"{OWN[3].surname}-Quillon-Featherstonehaugh")
        write_csv(csv_file, ctr_rows(OWN[:2]) + failing, CTR_COLUMNS)
        assert runs.run(bot) == 1, runs.printed[-1][1]
        write_csv(csv_file, ctr_rows(OWN, claim_base=500), CTR_COLUMNS)
        runs.crash(bot)
    with runtime_in(home) as runtime:
        failed = [i for i in runtime.ledger.items.list(bot=bot, limit=100) if i.error]
    reasons = " ".join(i.error or "" for i in failed)
    assert "[council_tax_account:p_" in reasons, "the app's message names the account"
    assert_nothing_in_clear(home, runs)
    assert assert_redacted_inside_evidence(home, OWN) >= 2, "pages and traces were opened"


# -- the desktop bot (report downloaded from the web app) ---------------------------------
@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    for tool, package in (("Xvfb", "xvfb"), ("xclip", "xclip"), ("openbox", "openbox")):
        require(__import__("shutil").which(tool) is not None, tool, f"apt-get install {package}")
    from connectors.desktop import virtual_display

    with virtual_display() as name:
        yield name


def start_client(outside: Path, display: str) -> subprocess.Popen[bytes]:
    return casework.start_client(
        outside / "revenues.sqlite", display,
        "--lock-rate", "0.25", "--seed", "4",
        "--callers", str(outside / "callers.json"), "--wrap", "23",
        env={"REVENUES_SANDBOX_PASSWORD": DESKTOP_PASSWORD},
    )  # fmt: skip


def add_cases(store_path: Path, people: list[Person], **changes: str) -> None:
    store = CaseStore(store_path)
    try:
        for n, p in enumerate(people):
            fields = {
                "claim_ref": p.claim, "account": p.ct_account, "surname": p.surname,
                "forenames": p.forenames, "nino": p.nino_plain, "change_type": "CHANGE",
                "effective_date": date(2026, 5, 4 + n), "weekly_pence": 2550,
                "postcode": p.postcode, "notes": f"Rang from {p.phone} about {p.address}",
            }  # fmt: skip
            store.create({**fields, **changes}, user="jsmith", status="Open")
    finally:
        store.close()


def test_desktop_bot_leaves_nothing_in_clear(tmp_path: Path, outside: Path, display: str):
    require_chromium()
    bot = "casework-to-revenues-desktop"
    desktop = {k: v for k, v in SHIPPED["revenues-desktop"].items() if k != "command"}
    client = start_client(outside, display)
    try:
        with caseflow(outside, "caseflow-desktop") as app:
            home = home_with(
                tmp_path / "home",
                {"casework": casework_app(app.url), "revenues-desktop": desktop},
                bot,
                {"apps": ["casework", "revenues-desktop"],
                 "retry": {"attempts": 8, "backoff_seconds": 0.05, "max_backoff_seconds": 0.2},
                 "settings": {"target_app": "revenues-desktop", "report_app": "casework",
                              "enter_statuses": ["Open", "Approved"]}},
            )  # fmt: skip
            with runtime_in(home) as runtime:
                runtime.secrets.set("casework-login", f"{USER}:{WEB_PASSWORD}")
                runtime.secrets.set("revenues-desktop", DESKTOP_PASSWORD)
            runs = Runs(home, display)
            add_cases(app.store, OWN[:2])
            assert runs.run(bot) == 0, runs.printed[-1][1]
            # the client keeps 30 characters of a surname: read back, it differs -> FAILED
            add_cases(app.store, OWN[2:3], surname=f"{OWN[2].surname}-Featherstonehaugh-Vell")
            assert runs.run(bot) == 1, runs.printed[-1][1]
            add_cases(app.store, OWN[3:])
            runs.crash(bot)
    finally:
        client.terminate()
        client.wait(10)
    with runtime_in(home) as runtime:
        captured = listed(runtime.paths.audit)
    downloads = [c for c in captured if c.kind == "download"]
    assert len(downloads) == 3 and {c.suffix for c in captured} >= {".png", ".txt", ".csv"}
    assert_nothing_in_clear(home, runs)
    assert assert_redacted_inside_evidence(home, OWN) >= 1


def test_the_scan_finds_a_canary_in_any_spelling_anywhere(tmp_path: Path):
    """The scan itself can fail: each planted spelling is found where it was put."""
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    person = CALLERS[0]
    planted = {
        "logs/plain.log": person.surname.upper().encode(),
        "logs/record.jsonl": json.dumps({"e": f"{person.forenames}ë"}).encode(),
        "logs/page.html": html.escape(f"<b>{person.address}</b>").encode(),
        "logs/post.txt": f"x={person.address.replace(' ', '+').replace(',', '%2C')}".encode(),
    }
    for relative, data in planted.items():
        (home / relative).write_bytes(data)
    with zipfile.ZipFile(home / "logs" / "trace.zip", "w") as archive:
        archive.writestr("trace.network", f'{{"post":"ni={person.nino_plain.lower()}"}}')
    found = leaks(home, [("console", f"secret {WEB_PASSWORD}")])
    places = ["plain.log", "record.jsonl", "page.html", "post.txt", "trace.zip!trace.network"]
    for where in [*places, "console"]:
        assert any(where in f for f in found), (where, found)
