"""With no DISPLAY at all (a scheduled run on a server), the connector brings its own:
Xvfb, openbox and the app, and takes them all down at the end of the run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from borough.testing import home_env, runtime_in
from tests.conftest import require
from tests.support.casework import (
    BOT,
    ROOT,
    app_command,
    app_records,
    casework_rows,
    desktop_home,
)

pytestmark = [pytest.mark.xvfb, pytest.mark.slow, pytest.mark.timeout(240)]


def test_a_run_without_display_starts_and_stops_its_own(tmp_path: Path):
    for tool, package in (("Xvfb", "xvfb"), ("xclip", "xclip"), ("openbox", "openbox")):
        require(shutil.which(tool) is not None, tool, f"apt-get install {package}")
    rows = casework_rows(3, seed=9)
    home = desktop_home(tmp_path, rows, command=app_command())
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "XAUTHORITY")}
    env.update(home_env(home), PYTHONPATH=str(ROOT), PYTHONWARNINGS="error")
    result = subprocess.run(
        [sys.executable, "-m", "borough", "run", BOT, "--quiet"],
        env=env,
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"Exception ignored" not in result.stderr, result.stderr.decode()
    assert set(app_records(home)) == {row["Case Reference"] for row in rows}
    with runtime_in(home) as runtime:
        log = next(runtime.paths.runs.glob("*.log")).read_text(encoding="utf-8")
    found = re.search(r"app revenues-desktop on display :(\d+) \(started here: Xvfb\)", log)
    assert found, log
    number = found.group(1)
    assert not Path(f"/tmp/.X11-unix/X{number}").exists(), "its Xvfb was stopped"
    assert not Path(f"/tmp/.X{number}-lock").exists()


DEMO = """
import sys
from pathlib import Path
from borough.testing import runtime_in
from tests.support.desktop_demo import run_desktop_demo
with runtime_in(Path(sys.argv[1])) as runtime:
    for record in run_desktop_demo(runtime, inputs={"csv": "input/casework.csv"}, runs=2):
        print(record.status.value, record.counts.done, record.counts.already_done)
"""


def test_two_runs_share_one_display_the_connector_starts(tmp_path: Path):
    for tool, package in (("Xvfb", "xvfb"), ("xclip", "xclip"), ("openbox", "openbox")):
        require(shutil.which(tool) is not None, tool, f"apt-get install {package}")
    rows = casework_rows(3, seed=10)
    home = desktop_home(tmp_path, rows, command=app_command(), password="not-the-demo-one")
    with runtime_in(home) as runtime:
        runtime.secrets.delete("revenues-desktop")  # the demo stores the sandbox's own
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "XAUTHORITY")}
    env.update(PYTHONPATH=str(ROOT), PYTHONWARNINGS="error")
    result = subprocess.run(
        [sys.executable, "-c", DEMO, str(home)],
        env=env,
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split("\n")[:2] == ["succeeded 3 0", "succeeded 0 3"]
    assert set(app_records(home)) == {row["Case Reference"] for row in rows}
