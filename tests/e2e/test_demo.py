"""The README's main command: ``borough demo`` end to end, as a user runs it.

Real Chromium, Xvfb, the Tk client and the scheduler's run processes. What the demo
promises is checked in the systems' own stores and the ledger, not in its printout.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from openpyxl import load_workbook

from borough.ledger import ItemState, RunStatus
from borough.testing import runtime_in
from sandbox.web.store import CaseStore
from tests.conftest import require
from tests.support.web import require_chromium

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "borough-demo-only-not-for-real-secrets"
BOTS = ("benefits-to-revenues", "change-of-circumstances", "casework-to-revenues-desktop")


@pytest.mark.timeout(900)  # about 80 s on a quiet machine: six runs, Chromium and Tk
def test_the_demo_moves_the_sample_data_through_three_systems_exactly_once(tmp_path: Path):
    require_chromium()
    for tool in ("Xvfb", "xclip", "openbox"):
        require(shutil.which(tool) is not None, tool, "apt-get install xvfb xclip openbox")
    source = tmp_path / "borough"
    for folder in ("config", "sample-data"):
        shutil.copytree(ROOT / folder, source / folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOROUGH_")}
    env |= {"BOROUGH_HOME": str(source), "COLUMNS": "200"}
    env.pop("DISPLAY", None)  # the demo brings its own display and never types into ours

    done = subprocess.run(
        [sys.executable, "-m", "borough", "demo"],
        env=env, cwd=source, capture_output=True, text=True, timeout=900, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "signed checkpoints: intact" in out
    home = source / "var" / "demo"
    assert str(home / "logs" / "evidence") in out

    cases = CaseStore(home / "var/targets/casework/caseflow.sqlite")
    try:
        in_caseflow = cases.all_cases()
    finally:
        cases.close()
    with closing(sqlite3.connect(home / "var/targets/revenues-desktop.sqlite")) as db:
        in_client = [row[0] for row in db.execute("SELECT case_ref FROM changes")]
    workbook = load_workbook(home / "var/targets/revenues/ctr_import.xlsx", read_only=True)
    workbook_rows = sum(sheet.max_row - 1 for sheet in workbook.worksheets)
    workbook.close()

    with runtime_in(home, passphrase=PASSPHRASE) as runtime:
        runs = runtime.ledger.runs.list(limit=100)
        items = {bot: runtime.ledger.items.list(bot=bot, limit=500) for bot in BOTS}

    worked = (RunStatus.SUCCEEDED, RunStatus.COMPLETED_WITH_FAILURES)
    finished = [run for run in runs if run.status in worked]  # not those stopped at the end
    for bot in BOTS:  # each bot ran twice; the second run had nothing left to do
        bot_runs = sorted((r for r in finished if r.bot == bot), key=lambda r: r.created_at)
        assert len(bot_runs) >= 2, bot
        assert all(r.trigger.startswith(("run-now:", "schedule:")) for r in bot_runs)
        assert bot_runs[-1].counts.done == 0 and bot_runs[-1].counts.already_done > 0, bot

    def refs(bot: str, state: ItemState) -> list[str]:
        return [i.reference or "" for i in items[bot] if i.state is state]

    # Caseflow: one case per valid notification (22 created + 2 drafts completed + 1 found)
    assert len(in_caseflow) == 25 and {c.status for c in in_caseflow} == {"Open"}
    assert sorted(refs("change-of-circumstances", ItemState.DONE)) == sorted(
        c.case_ref for c in in_caseflow
    )
    assert len(refs("change-of-circumstances", ItemState.FAILED)) == 6
    # revenues client: every Caseflow case once, except the surname it would cut short
    assert len(in_client) == len(set(in_client)) == 24
    assert set(in_client) < {c.case_ref for c in in_caseflow}
    failed_desktop = [i for i in items["casework-to-revenues-desktop"]
                      if i.state is ItemState.FAILED]  # fmt: skip
    assert len(failed_desktop) == 1
    assert "kept 30 of 32 characters" in (failed_desktop[0].error or "")
    evidence = list((home / "logs/evidence").rglob("*.png"))
    assert evidence, "the failed desktop item left a screenshot"
    # the import workbook: the 20 valid rows of the benefits export
    assert workbook_rows == 20
