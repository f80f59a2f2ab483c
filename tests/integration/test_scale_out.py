"""Scale-out on a real PostgreSQL: runs as procrastinate jobs, seats as procrastinate locks."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from borough.audit.reading import iter_records
from borough.ledger import RunStatus
from borough.testing import runtime_in
from scheduler.errors import SchedulerLockedError
from scheduler.lock import ADVISORY_KEY, PostgresLock
from scheduler.session import run_for
from tests.support.scheduling import child_env, one_seat_home

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]  # 26 s loaded


def test_procrastinate_runs_never_share_a_seat(tmp_path: Path, postgres_url: str):
    home = one_seat_home(
        tmp_path,
        scheduler={"dispatch": "procrastinate"},
        borough={"ledger": {"url": postgres_url}, "audit": {"checkpoint_every": 100}},
    )
    env = {**os.environ, **child_env(home)}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "borough",
            "serve",
            "worker",
            "-q",
            "app:counting",
            "--concurrency",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with runtime_in(home) as runtime:
            summary = run_for(runtime, minutes=1.5, until_runs=4, env=child_env(home))
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err.decode()[-2000:]
    done = sorted(
        (r for r in summary.runs if r.status is RunStatus.SUCCEEDED), key=lambda r: r.started_at
    )
    assert {r.schedule for r in done} == {"a", "b"}
    assert {(r.detail["queue"], r.detail["seat_lock"]) for r in done} == {
        ("app:counting", "seat:counting")
    }
    assert {r.detail["worker"] for r in done} != set()
    for earlier, later in itertools.pairwise(done):
        assert earlier.ended_at <= later.started_at, f"{earlier.id} overlaps {later.id}"
    deferred = [r for r in iter_records(home / "logs/audit") if r["action"] == "run.deferred"]
    assert {r["run_id"] for r in deferred} >= {r.id for r in done}


def test_postgres_lock_allows_one_active_scheduler(postgres_url: str):
    engine = create_engine("postgresql+psycopg://" + postgres_url.split("://", 1)[1])
    active, other = PostgresLock(engine), PostgresLock(engine)
    try:
        assert active.holder() is None
        active.acquire()
        assert active.holder()["pid"] == os.getpid()
        with pytest.raises(SchedulerLockedError, match=f"pid {os.getpid()}"):
            other.acquire()
        active.release()
        other.acquire()
        assert other.holder() is not None
        other.release()
        assert active.holder() is None
    finally:
        engine.dispose()


def test_a_scheduler_whose_lock_session_ended_knows_it_no_longer_holds_the_lock(
    postgres_url: str,
):
    """The database ended the active scheduler's session (as it does when the network
    drops it): the lock went with it, and ``held`` says so instead of remembering."""
    engine = create_engine("postgresql+psycopg://" + postgres_url.split("://", 1)[1])
    active, standby = PostgresLock(engine), PostgresLock(engine)
    try:
        active.acquire()
        assert active.held()
        with engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND objid = :k AND granted"
                ),
                {"k": ADVISORY_KEY},
            )
        assert standby.acquire(wait=True, poll=0.1, stop=lambda: False)
        assert not active.held()
        assert standby.held()
        active.release()  # harmless: nothing left to release
        assert standby.held()
    finally:
        standby.release()
        active.release()
        engine.dispose()
