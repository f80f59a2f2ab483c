"""Exactly-once for every kind of target: check-first, and apps that keep changes until saved.

The counting target counts every write; ``save_later`` makes it hold creates in memory
until its ``save()`` (an app's "Save"), so an unsaved batch is lost with its process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from borough.errors import ConfigError
from borough.ledger import ItemState, RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import counted_writes, runtime_in
from tests.support.installs import counting_home, people

FAST_RETRY = {"attempts": 4, "backoff_seconds": 0.01, "max_backoff_seconds": 0.02}


def records(home: Path, action: str) -> list[dict[str, Any]]:
    lines = (home / "logs/audit/audit.jsonl").read_text("utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["action"] == action]


def half_done_target(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    """A target that already holds the first half of ``rows`` (written by another ledger)."""
    target = tmp_path / "shared-target.sqlite"
    old = counting_home(tmp_path / "old", rows[: len(rows) // 2], target={"path": str(target)})
    with runtime_in(old) as runtime:
        assert run_bot(runtime, RunRequest("counting-bot")).counts.done == len(rows) // 2
    return target


def test_check_first_on_a_new_ledger_duplicates_nothing_the_target_holds(tmp_path: Path):
    rows = people(10)
    target = half_done_target(tmp_path, rows)
    home = counting_home(
        tmp_path / "new", rows, target={"path": str(target)}, bot_options={"check_first": True}
    )
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
        done = runtime.ledger.items.list(bot="counting-bot", states=[ItemState.DONE])
    assert run.status is RunStatus.SUCCEEDED and run.counts.done == 10
    assert counted_writes(target) == {row["Ref"]: 1 for row in rows}
    found = [r for r in records(home, "item.done") if r["detail"].get("found_first")]
    assert len(found) == 5
    assert {r["detail"]["reference"] for r in found} == {f"REF-{n:06d}" for n in range(1, 6)}
    assert sorted(i.reference for i in done) == [f"REF-{n:06d}" for n in range(1, 11)]
    assert len(records(home, "item.intent")) == 5, "found items are never entered"


def test_without_check_first_a_new_ledger_writes_everything_again(tmp_path: Path):
    rows = people(6)
    target = half_done_target(tmp_path, rows)
    home = counting_home(tmp_path / "new", rows, target={"path": str(target)})
    with runtime_in(home) as runtime:
        run_bot(runtime, RunRequest("counting-bot"))
    assert max(counted_writes(target).values()) == 2  # what check_first is for


def test_check_first_that_cannot_ask_the_target_processes_nothing_blind(tmp_path: Path):
    home = counting_home(
        tmp_path,
        people(3),
        target={"unreachable": True},
        retry=FAST_RETRY,
        bot_options={"check_first": True},
    )
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
        failed = runtime.ledger.items.list(bot="counting-bot", states=[ItemState.FAILED])
    assert run.counts.failed == 3 and run.counts.retried == 9
    assert "checked before processing; the target could not be checked" in failed[0].error
    assert counted_writes(home / "var/target.sqlite") == {}
    assert records(home, "item.intent") == []


def test_check_first_of_a_bot_without_find_existing_is_a_config_error(tmp_path: Path):
    home = counting_home(
        tmp_path, people(1), bot="no-lookup-bot", bot_options={"check_first": True}
    )
    with runtime_in(home) as runtime, pytest.raises(ConfigError) as caught:
        run_bot(runtime, RunRequest("no-lookup-bot"))
    assert "config/bots/no-lookup-bot.yaml" in str(caught.value)
    assert "define find_existing(ctx, item)" in str(caught.value)


def test_config_check_names_a_rule_the_bot_cannot_keep(tmp_path: Path):
    from typer.testing import CliRunner

    from borough.cli import app
    from borough.testing import home_env

    home = counting_home(tmp_path, people(1), bot_options={"save_every": 3})
    result = CliRunner().invoke(app, ["config", "check"], env=home_env(home))
    assert result.exit_code == 3
    assert "bot 'counting-bot' has save_every: 3" in " ".join(result.output.split())


def test_save_every_without_save_is_a_config_error(tmp_path: Path):
    home = counting_home(tmp_path, people(1), bot_options={"save_every": 3})
    with runtime_in(home) as runtime, pytest.raises(ConfigError) as caught:
        run_bot(runtime, RunRequest("counting-bot"))
    assert "save_every: 3" in str(caught.value) and "no save()" in str(caught.value)
    with runtime_in(home) as runtime:
        assert runtime.ledger.runs.list() == []  # refused before anything was recorded


def saving_home(tmp_path: Path, count: int, **target: Any) -> Path:
    return counting_home(
        tmp_path,
        people(count),
        bot="saving-bot",
        target={"save_later": True, "seed": 1, **target},
        retry=FAST_RETRY,
    )


def test_a_save_later_app_is_saved_every_n_items_and_at_the_end(tmp_path: Path):
    home = saving_home(tmp_path, 12)
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("saving-bot"))
        done = runtime.ledger.items.list(bot="saving-bot", states=[ItemState.DONE])
    assert run.status is RunStatus.SUCCEEDED and run.counts.done == 12
    intents = records(home, "batch.intent")
    assert [len(r["detail"]["items"]) for r in intents] == [5, 5, 2]
    assert counted_writes(home / "var/target.sqlite") == {f"R{i:04d}": 1 for i in range(1, 13)}
    assert sorted(i.reference for i in done) == [f"REF-{n:06d}" for n in range(1, 13)]
    # each item's intent precedes its batch's intent, which precedes its item.done
    seqs = {r["item"]: r["seq"] for r in records(home, "item.done")}
    for batch in intents:
        assert all(seqs[token] > batch["seq"] for token in batch["detail"]["items"])
    assert {r["detail"]["batch"] for r in records(home, "item.done")} == {1, 2, 3}


def test_a_save_that_fails_before_writing_redoes_its_batch_once(tmp_path: Path):
    home = saving_home(tmp_path, 15, fail_save_rate=0.5, seed=10)  # reopened: saves first
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("saving-bot"))
    assert run.counts.done == 15 and run.counts.retried > 0
    assert counted_writes(home / "var/target.sqlite") == {f"R{i:04d}": 1 for i in range(1, 16)}


def test_a_save_that_fails_after_writing_is_settled_by_lookup(tmp_path: Path):
    home = saving_home(tmp_path, 15, fail_after_save_rate=0.5)
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("saving-bot"))
    assert run.counts.done == 15 and run.counts.retried == 0
    recovered = [r for r in records(home, "item.done") if r["detail"].get("recovered")]
    assert recovered, "the fault after the save was never injected"
    assert counted_writes(home / "var/target.sqlite") == {f"R{i:04d}": 1 for i in range(1, 16)}


def test_an_item_failing_mid_batch_saves_the_batch_before_it_is_looked_up(tmp_path: Path):
    # the app took the item, then the bot failed: what the app holds is saved first, so
    # find_existing tells the truth and nothing is entered twice
    home = saving_home(tmp_path, 12, fail_after_rate=0.3)
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("saving-bot"))
    assert run.counts.done == 12
    assert counted_writes(home / "var/target.sqlite") == {f"R{i:04d}": 1 for i in range(1, 13)}
    assert len(records(home, "batch.intent")) > 3


def test_a_run_stopped_by_max_items_saves_what_it_holds(tmp_path: Path):
    home = saving_home(tmp_path, 9)
    with runtime_in(home) as runtime:
        first = run_bot(runtime, RunRequest("saving-bot", limit=3))
        assert runtime.ledger.items.count_by_state(bot="saving-bot") == {
            ItemState.DONE: 3,
            ItemState.PENDING: 6,
        }
        second = run_bot(runtime, RunRequest("saving-bot"))
    assert (first.counts.done, second.counts.done) == (3, 6)
    assert counted_writes(home / "var/target.sqlite") == {f"R{i:04d}": 1 for i in range(1, 10)}


def test_check_first_and_save_later_together_on_a_new_ledger(tmp_path: Path):
    rows = people(12)
    target = half_done_target(tmp_path, rows)
    home = counting_home(
        tmp_path / "new",
        rows,
        bot="saving-bot",
        target={"path": str(target), "save_later": True},
        bot_options={"check_first": True, "save_every": 4},
    )
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("saving-bot"))
    assert run.counts.done == 12
    assert counted_writes(target) == {row["Ref"]: 1 for row in rows}
    assert [len(r["detail"]["items"]) for r in records(home, "batch.intent")] == [4, 2]
