"""The secret-store passphrase never reaches a process a run starts, nor a scheduled run.

A run's own process removes the passphrase from its environment before anything starts a
child (browser, driver, desktop app, X server, clipboard tool); a scheduler gives each run
the passphrase through a pipe, so even ``/proc/<pid>/environ`` of the run has none.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from borough.ledger import RunStatus
from borough.secrets.passphrase import FD_ENV
from borough.testing import TEST_PASSPHRASE, runtime_in
from scheduler.session import run_for
from tests.support.envprobe import probe_home, probes
from tests.support.scheduling import child_env

NAME = "BOROUGH_SECRETS_PASSPHRASE"


def leaks(environ: dict[str, str]) -> list[str]:
    """Variables that carry the passphrase (by name or by value) or the hand-over pipe."""
    return [k for k, v in environ.items() if k in (NAME, FD_ENV) or TEST_PASSPHRASE in v]


def test_a_manual_run_starts_nothing_that_inherits_the_passphrase(tmp_path: Path):
    home = probe_home(tmp_path / "home")
    env = {**os.environ, **child_env(home)}

    done = subprocess.run(
        [sys.executable, "-m", "borough", "run", "env-probe", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    [report] = probes(home)
    assert leaks(report["own_at_start"]) == [NAME]  # the operator's shell gave it
    assert leaks(report["own_now"]) == []  # removed as soon as it was read
    assert leaks(report["child"]) == []


def test_a_scheduled_run_gets_the_passphrase_by_pipe_and_no_process_has_it(tmp_path: Path):
    home = probe_home(tmp_path / "home", {"probe": {"bot": "env-probe", "daily": "03:00"}})
    env = child_env(home)  # the passphrase too, as an operator's environment would have it
    assert leaks(env) == [NAME]

    with runtime_in(home) as runtime:
        summary = run_for(runtime, minutes=1, until_runs=1, env=env, run_now=["probe"])

    assert [run.status for run in summary.finished] == [RunStatus.SUCCEEDED]
    [report] = probes(home)
    assert leaks(report["own_at_start"]) == [FD_ENV]  # a pipe's number, not the passphrase
    assert leaks(report["own_now"]) == []
    assert leaks(report["child"]) == []
