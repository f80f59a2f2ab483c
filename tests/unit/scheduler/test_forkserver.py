"""Runs started as forks of a warm interpreter: their own session, stderr and pipe, the same
outcome as an ordinary start, and a server that never holds a secret."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from borough.forkserver import ForkServer, ForkServerError
from borough.ledger import RunStatus
from borough.testing import TEST_PASSPHRASE, home_env, runtime_in
from scheduler.dispatch.base import QueuedRun
from scheduler.dispatch.child import Child
from tests.support.installs import counting_home, people

ROOT = Path(__file__).resolve().parents[3]


def wait(check, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
def server(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "BOROUGH_SECRETS_PASSPHRASE"}
    env["PYTHONPATH"] = str(ROOT)
    fork = ForkServer(env, tmp_path)
    fork.start()
    wait(lambda: fork.ready)
    yield fork
    fork.close()


def queued(runtime, bot: str = "counting-bot") -> QueuedRun:
    record = runtime.ledger.runs.create(
        bot, "1.0.0", trigger="schedule:nightly", status=RunStatus.QUEUED, schedule="nightly"
    )
    return QueuedRun.from_record(record)


def test_a_forked_run_ends_as_an_ordinary_one_and_reports_its_exit(tmp_path: Path, server):
    home = counting_home(tmp_path / "home", people(3, bad_every=3))
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)}
    with runtime_in(home) as runtime:
        run = queued(runtime)
        child = Child.spawn(
            run, env, tmp_path / "err", handover=runtime.handover, cwd=home, forkserver=server
        )
        assert child.forked is server and child.proc is None
        assert os.getsid(child.pid) == child.pid, "its own session: a timeout kills its group"
        wait(child.exited)
        record = runtime.ledger.runs.get(run.run_id)
    assert child.exit_code == 1, child.stderr_tail()  # one bad row: finished with failures
    assert record.status is RunStatus.COMPLETED_WITH_FAILURES
    assert record.counts.done == 2 and record.pid == child.pid


def test_a_command_that_fails_to_start_leaves_its_error_in_its_stderr(tmp_path: Path, server):
    home = counting_home(tmp_path / "home", people(1))
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)}
    with runtime_in(home) as runtime:
        run = queued(runtime, bot="no-such-bot")
        child = Child.spawn(
            run, env, tmp_path / "err", handover=runtime.handover, cwd=home, forkserver=server
        )
        wait(child.exited)
    assert child.exit_code == 3
    assert "no bot named 'no-such-bot'" in child.stderr_tail()


def test_the_server_holds_no_passphrase_and_starts_only_borough(tmp_path: Path, server):
    proc = server._proc
    assert proc is not None
    environ = Path(f"/proc/{proc.pid}/environ").read_bytes()
    assert TEST_PASSPHRASE.encode() not in environ and b"BOROUGH_SECRETS_FD" not in environ
    with pytest.raises(ForkServerError, match="borough commands only"):
        server.spawn([sys.executable, "-c", "pass"], {}, cwd=tmp_path, stderr_fd=2, secrets_fd=2)


def test_without_a_ready_server_runs_start_the_ordinary_way(tmp_path: Path):
    home = counting_home(tmp_path / "home", people(2))
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)}
    fork = ForkServer(env, tmp_path)  # never started
    with runtime_in(home) as runtime:
        run = queued(runtime)
        child = Child.spawn(
            run, env, tmp_path / "err", handover=runtime.handover, cwd=home, forkserver=fork
        )
        assert child.proc is not None and child.forked is None
        wait(child.exited)
        assert runtime.ledger.runs.get(run.run_id).status is RunStatus.SUCCEEDED
