"""Kill -9 the files bot mid-save, again and again: the import workbook is always whole, the
temporary copies left behind are private, and the next run removes them and finishes
with every row exactly once."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from openpyxl import load_workbook

from borough.cli.exitcodes import ExitCode
from borough.testing import home_env, make_home
from tests.support import ctr

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


def kill_mid_save(process: subprocess.Popen[bytes], folder: Path, rng: random.Random) -> None:
    """Let the run work a random while, then SIGKILL it while a save is under way."""
    time.sleep(rng.uniform(0.0, 1.0))
    deadline = time.monotonic() + 30
    while not temporaries(folder) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.0005)
    time.sleep(rng.uniform(0.0, 0.004))
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)


def test_kill_9_mid_save_leaves_no_temporary_file_after_the_next_run(tmp_path: Path):
    home = make_home(tmp_path / "home", config=ROOT / "config")
    ctr.write_export(home, ctr.numbered(ROWS))
    folder = home / "var/targets/revenues"
    workbook = folder / "ctr_import.xlsx"
    rng = random.Random(int(os.environ.get("BOROUGH_KILL_SEED", "20261123")))
    left_behind = 0
    for _ in range(KILLS):
        kill_mid_save(start(home), folder, rng)
        leftovers = temporaries(folder)
        left_behind += len(leftovers)
        for path in leftovers:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        if workbook.exists():
            keys = keys_in(workbook)
            assert len(keys) == len(set(keys))
    assert left_behind > 0  # the kills did land mid-save: the cleanup below is exercised
    final = start(home)
    _, err = final.communicate(timeout=300)
    assert final.returncode == ExitCode.OK, err.decode()
    assert temporaries(folder) == []
    keys = keys_in(workbook)
    assert len(keys) == ROWS and len(set(keys)) == ROWS
    assert stat.S_IMODE(workbook.stat().st_mode) == 0o600
