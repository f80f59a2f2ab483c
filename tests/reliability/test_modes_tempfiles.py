"""Kill -9 the files bot mid-save, again and again: the import workbook is always whole, the
temporary copies left behind are private, and the next run removes them and finishes
with every row exactly once."""

from __future__ import annotations

import os
import random
import stat
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from borough.cli.exitcodes import ExitCode
from borough.testing import home_env, make_home
from tests.support import ctr
from tests.support.reliability import Kills, after, finish, in_order

ROOT = Path(__file__).resolve().parents[2]
ROWS = 60
KILLS = 4


def start(home: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "borough", "run", "benefits-to-revenues", "-q"],
        env={**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def temporaries(folder: Path) -> list[Path]:
    return list(folder.glob(".ctr_import.xlsx~*.borough-tmp")) if folder.exists() else []


def keys_in(workbook: Path) -> list[str]:
    book = load_workbook(workbook)  # raises if the workbook is not whole
    try:
        return [row[1] for row in book["CTR Import"].iter_rows(min_row=2, values_only=True)]
    finally:
        book.close()


def test_kill_9_mid_save_leaves_no_temporary_file_after_the_next_run(tmp_path: Path):
    home = make_home(tmp_path / "home", config=ROOT / "config")
    ctr.write_export(home, ctr.numbered(ROWS))
    folder = home / "var/targets/revenues"
    workbook = folder / "ctr_import.xlsx"
    rng = random.Random(int(os.environ.get("BOROUGH_KILL_SEED", "20261123")))
    kills = Kills(rng)
    left_behind = 0
    for _ in range(KILLS):
        # while a save is under way, after 0-15 more rows of the run
        work = after(home, "item.done", more=rng.randint(0, 15))
        saving = in_order(work, lambda: bool(temporaries(folder)))
        kills.at(start(home), saving, what="a save", jitter=0.004, poll=0.0005)
        leftovers = temporaries(folder)
        left_behind += len(leftovers)
        for path in leftovers:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        if workbook.exists():
            keys = keys_in(workbook)
            assert len(keys) == len(set(keys))
    assert kills.landed > 0, kills.report()
    assert left_behind > 0  # the kills did land mid-save: the cleanup below is exercised
    code, output = finish(start(home), timeout=300)
    assert code == ExitCode.OK, output
    assert temporaries(folder) == []
    keys = keys_in(workbook)
    assert len(keys) == ROWS and len(set(keys)) == ROWS
    assert stat.S_IMODE(workbook.stat().st_mode) == 0o600
