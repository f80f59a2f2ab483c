"""`borough status` on one machine (SQLite): manual runs and registered runners shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.testing import runtime_in
from tests.support.ledger import age_heartbeat
from tests.support.scheduling import child_env, scheduler_home

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = scheduler_home(tmp_path, {})
    for key, value in child_env(home).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("BOROUGH_SECRETS_PASSPHRASE", raising=False)  # a view needs none
    return home


def test_status_with_nothing_running_says_so(home: Path):
    result = invoke("status")
    assert result.exit_code == 0, result.output
    assert "No runner has registered and nothing is running." in result.output


def test_status_lists_runners_runs_and_seats(home: Path):
    with runtime_in(home) as runtime:
        runtime.ledger.runners.register("runner-2", 77, ["app:counting"], 2, "0.1.0")
        run = runtime.ledger.runs.create("sleepy-a", "1.0.0", seats={"counting": 1})
        here = runtime.ledger.runs.host
    table = invoke("status").output
    assert "runner-2" in table and "app:counting (x2)" in table and "alive" in table
    assert run.id in table and "counting#1" in table
    machines = {m["host"]: m for m in json.loads(invoke("status", "--json").output)["machines"]}
    assert machines["runner-2"]["queues"] == ["app:counting"]
    assert machines[here]["state"] == "manual runs"
    assert machines[here]["runs"][0]["id"] == run.id
    assert machines[here]["seats"] == [{"app": "counting", "slot": 1, "run_id": run.id}]


def test_status_judges_each_runner_by_the_heartbeat_it_was_configured_with(home: Path):
    """A worker beating every second (``scheduler.worker_heartbeat_seconds: 1``) and silent
    for 6 s is silent; one beating every 10 s is not, yet (silent after three beats)."""
    with runtime_in(home) as runtime:
        runtime.ledger.runners.register("fast", 1, ["app:counting"], 1, "0.1.0", beat_seconds=1)
        runtime.ledger.runners.register("slow", 2, ["app:counting"], 1, "0.1.0", beat_seconds=10)
        for host in ("fast", "slow"):
            age_heartbeat(runtime.ledger, host, 6)
    machines = {m["host"]: m for m in json.loads(invoke("status", "--json").output)["machines"]}
    assert machines["fast"]["state"].startswith("silent")
    assert machines["slow"]["state"] == "alive"
    assert machines["fast"]["beat_seconds"] == 1
    overridden = json.loads(invoke("status", "--json", "--beat", "30").output)["machines"]
    assert {m["state"] for m in overridden} == {"alive"}
