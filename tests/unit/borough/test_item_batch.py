"""Item batches (``batch: N``): the write-ahead rule per batch, failures, stops and fencing.

The counting target counts every write, so "exactly once" is checked against the target,
and the audit trail's order shows that every intent of a batch was on disk before its
first item was processed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import pytest

from borough import Item, RunContext
from borough.errors import ConfigError
from borough.ledger import ItemState, RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import counted_writes, runtime_in
from tests.support.bots import CountingBot, Person
from tests.support.installs import counting_home, people

FAST_RETRY = {"attempts": 3, "backoff_seconds": 0.01, "max_backoff_seconds": 0.02}
HERE = "tests.unit.borough.test_item_batch"


def records(home: Path) -> list[dict[str, Any]]:
    lines = (home / "logs/audit/audit.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines]


def item_actions(home: Path) -> list[str]:
    return [r["action"] for r in records(home) if r["action"].startswith("item.")]


def states(runtime: Any) -> dict[ItemState, int]:
    return runtime.ledger.items.count_by_state(bot="counting-bot")


def writes(home: Path) -> dict[str, int]:
    return counted_writes(home / "var/target.sqlite")


class StopOnceBot(CountingBot):
    """Stopped (Ctrl+C) in the middle of the item named in ``stop_at``, the first time."""

    name: ClassVar[str] = "counting-bot"

    def process(self, ctx: RunContext, item: Item[Person]) -> str | None:
        marker = Path(ctx.settings["marker"])
        if item.key == ctx.settings["stop_at"] and not marker.exists():
            marker.write_text("stopped")
            self.target(ctx).create(item.key, item.data.name)  # touched, then stopped
            raise KeyboardInterrupt
        return super().process(ctx, item)


class PausedBot(CountingBot):
    """After the item named in ``pause_at``, the process is "paused" past its lease and a
    reaper of another host marks its run CRASHED meanwhile (as it would after
    lease + grace of silence). It writes with its own SQL, not through a connector that
    checks the lease before saving: the batch itself must stop it."""

    name: ClassVar[str] = "counting-bot"
    clock: ClassVar[dict[str, float]] = {"offset": 0.0}

    def process(self, ctx: RunContext, item: Item[Person]) -> str | None:
        target = ctx.runtime.config.paths.home / "var/target.sqlite"
        reference = f"RAW-{item.key}"
        with sqlite3.connect(target, timeout=30) as db:
            db.execute("CREATE TABLE IF NOT EXISTS records (key, reference, payload, pid)")
            db.execute("INSERT INTO records VALUES (?, ?, 'raw', 0)", (item.key, reference))
        if item.key == ctx.settings["pause_at"] and not self.clock["offset"]:
            self.clock["offset"] = 10_000.0
            with sqlite3.connect(Path(ctx.settings["ledger"]), timeout=30) as db:
                db.execute("UPDATE borough_runs SET status = 'crashed' WHERE id = ?", (ctx.run_id,))
        return reference


class WatchingBot(CountingBot):
    """Notes, at each process(), the intents in the trail file and the IN_FLIGHT items in
    the ledger (another connection: only what is committed)."""

    name: ClassVar[str] = "counting-bot"
    seen: ClassVar[list[tuple[int, int]]] = []

    def process(self, ctx: RunContext, item: Item[Person]) -> str | None:
        home = ctx.runtime.config.paths.home
        trail = (home / "logs/audit/audit.jsonl").read_text("utf-8")
        with sqlite3.connect(home / "var/ledger.sqlite", timeout=30) as db:
            (in_flight,) = db.execute(
                "SELECT COUNT(*) FROM borough_items WHERE state = 'in_flight'"
            ).fetchone()
        self.seen.append((trail.count('"action":"item.intent"'), in_flight))
        return super().process(ctx, item)


# -- configuration ----------------------------------------------------------------------------
def test_batch_without_find_existing_is_refused_naming_the_file_and_field(tmp_path: Path):
    home = counting_home(tmp_path, people(3), bot="no-lookup-bot", bot_options={"batch": 10})
    with runtime_in(home) as runtime, pytest.raises(ConfigError) as caught:
        run_bot(runtime, RunRequest("no-lookup-bot"))
    message = str(caught.value)
    assert "batch: 10 (config/bots/no-lookup-bot.yaml)" in message
    assert "define find_existing(ctx, item)" in message and "set batch: 1" in message
    with runtime_in(home) as runtime:
        assert runtime.ledger.runs.list() == []  # refused before anything was recorded


def test_batch_with_save_every_is_refused(tmp_path: Path):
    home = counting_home(
        tmp_path, people(3), bot="saving-bot", bot_options={"batch": 4, "save_every": 2}
    )
    with runtime_in(home) as runtime, pytest.raises(ConfigError) as caught:
        run_bot(runtime, RunRequest("saving-bot"))
    assert "both batch: 4 and save_every: 2" in str(caught.value)


def test_config_check_names_a_batch_the_bot_cannot_keep(tmp_path: Path):
    from typer.testing import CliRunner

    from borough.cli import app
    from borough.testing import home_env

    home = counting_home(tmp_path, people(1), bot="no-lookup-bot", bot_options={"batch": 5})
    result = CliRunner().invoke(app, ["config", "check"], env=home_env(home))
    assert result.exit_code == 3
    assert "has batch: 5 (config/bots/no-lookup-bot.yaml)" in " ".join(result.output.split())


def test_batch_zero_is_a_config_error_naming_the_field(tmp_path: Path):
    home = counting_home(tmp_path, people(1), bot_options={"batch": 0})
    with runtime_in(home) as runtime, pytest.raises(ConfigError) as caught:
        run_bot(runtime, RunRequest("counting-bot"))
    assert "counting-bot.yaml" in str(caught.value) and "batch" in str(caught.value)


# -- the write-ahead rule per batch -----------------------------------------------------------
def test_batch_one_keeps_one_item_at_a_time(tmp_path: Path):
    home = counting_home(tmp_path, people(4))
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
    assert run.counts.done == 4
    worked = [a for a in item_actions(home) if a in ("item.intent", "item.done")]
    assert worked == ["item.intent", "item.done"] * 4


def test_every_intent_of_a_batch_is_on_disk_before_its_first_item_is_processed(tmp_path: Path):
    WatchingBot.seen = []
    home = counting_home(
        tmp_path, people(12), bot_options={"entry": f"{HERE}:WatchingBot", "batch": 5}
    )
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
        done = runtime.ledger.items.list(bot="counting-bot", states=[ItemState.DONE])
    assert run.status is RunStatus.SUCCEEDED and run.counts.done == 12
    assert writes(home) == {f"R{i:04d}": 1 for i in range(1, 13)}
    worked = [a for a in item_actions(home) if a in ("item.intent", "item.done")]
    assert (
        worked
        == (["item.intent"] * 5 + ["item.done"] * 5) * 2 + ["item.intent"] * 2 + ["item.done"] * 2
    )
    # what each process() found in the trail (and the ledger) when it was called
    assert WatchingBot.seen == [(5, 5)] * 5 + [(10, 5)] * 5 + [(12, 2)] * 2
    intents = [r for r in records(home) if r["action"] == "item.intent"]
    assert [r["detail"]["batch"] for r in intents] == [5] * 10 + [2] * 2
    assert sorted(i.reference for i in done) == [f"REF-{n:06d}" for n in range(1, 13)]


def test_max_items_stops_inside_a_batch(tmp_path: Path):
    home = counting_home(tmp_path, people(12), bot_options={"batch": 5})
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot", limit=7))
        assert states(runtime) == {ItemState.DONE: 7, ItemState.PENDING: 5}
    assert run.counts.done == 7 and len(writes(home)) == 7


def test_a_class_attribute_sets_the_batch_and_the_config_overrides_it(tmp_path: Path):
    home = counting_home(
        tmp_path, people(6), bot_options={"entry": f"{HERE}:BatchedBot", "batch": 2}
    )
    with runtime_in(home) as runtime:
        run_bot(runtime, RunRequest("counting-bot"))
    intents = [r for r in records(home) if r["action"] == "item.intent"]
    assert [r["detail"]["batch"] for r in intents] == [2] * 6


class BatchedBot(CountingBot):
    batch: ClassVar[int] = 50


# -- failures inside a batch -------------------------------------------------------------------
def test_failures_inside_a_batch_keep_the_others_outcomes(tmp_path: Path):
    rows = people(10)
    rows[2]["Amount"] = 999  # a business rule: FAILED
    home = counting_home(
        tmp_path,
        rows,
        # a third of the writes fail after committing (found by the lookup: DONE), some
        # before writing (retried in a later batch)
        target={"fail_after_rate": 0.3, "fail_before_rate": 0.2, "seed": 7},
        retry={**FAST_RETRY, "attempts": 10},
        bot_options={"batch": 4},
    )
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
        assert states(runtime) == {ItemState.DONE: 9, ItemState.FAILED: 1}
        failed = runtime.ledger.items.list(bot="counting-bot", states=[ItemState.FAILED])
    assert "over the limit" in (failed[0].error or "")
    assert writes(home) == {row["Ref"]: 1 for row in rows if row["Amount"] != 999}
    actions = item_actions(home)
    assert "item.retry" in actions and "item.checked" in actions
    assert run.counts.done == 9 and run.counts.failed == 1 and run.counts.retried > 0
    recovered = [r for r in records(home) if (r.get("detail") or {}).get("recovered")]
    assert recovered, "a write that failed after committing is found, not redone"


def test_a_stop_mid_batch_writes_the_outcomes_so_far_and_loses_nothing(tmp_path: Path):
    marker = tmp_path / "stopped"
    home = counting_home(
        tmp_path / "home",
        people(8),
        settings={"stop_at": "R0003", "marker": str(marker)},
        bot_options={"entry": f"{HERE}:StopOnceBot", "batch": 5},
    )
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
        assert run.status is RunStatus.CANCELLED
        # R0001-2 DONE, R0003 touched (waits for its check), R0004-5 never sent, R0006-8 untouched
        assert states(runtime) == {
            ItemState.DONE: 2,
            ItemState.IN_FLIGHT: 1,
            ItemState.PENDING: 5,
        }
        again = run_bot(runtime, RunRequest("counting-bot"))
        assert states(runtime) == {ItemState.DONE: 8}
    assert again.status is RunStatus.SUCCEEDED
    assert writes(home) == {f"R{i:04d}": 1 for i in range(1, 9)}
    abandoned = [r for r in records(home) if r["action"] == "item.abandoned"]
    assert len(abandoned) == 3


def test_a_lease_lost_mid_batch_fences_before_the_next_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import borough.ledger.lease as lease_module

    real = lease_module.boot_clock
    PausedBot.clock["offset"] = 0.0
    monkeypatch.setattr(lease_module, "boot_clock", lambda: real() + PausedBot.clock["offset"])
    home = counting_home(
        tmp_path,
        people(8),
        settings={"pause_at": "R0002", "ledger": str(tmp_path / "var/ledger.sqlite")},
        bot_options={"entry": f"{HERE}:PausedBot", "batch": 5},
    )
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
        assert run.status is RunStatus.FAILED and "fenced" in (run.error or "")
        assert writes(home) == {"R0001": 1, "R0002": 1}, "nothing after the pause"
        assert states(runtime) == {ItemState.IN_FLIGHT: 5, ItemState.PENDING: 3}
        assert "item.done" not in item_actions(home)  # a fenced run writes no outcome
        PausedBot.clock["offset"] = -1.0  # the next run is not paused
        again = run_bot(runtime, RunRequest("counting-bot"))
        assert states(runtime) == {ItemState.DONE: 8}
    assert again.status is RunStatus.SUCCEEDED and again.counts.recovered == 5
    assert writes(home) == {f"R{i:04d}": 1 for i in range(1, 9)}


# -- the ledger's batched moves ---------------------------------------------------------------
def all_or_nothing(home: Path) -> None:
    """A batch's moves commit together or not at all: one item taken over (its fence moved
    on) fails the whole write, which names the items."""
    from sqlalchemy import update

    from borough.errors import LeaseLostError
    from borough.ledger.moves import Move
    from borough.ledger.schema import items

    with runtime_in(home) as runtime:
        run_bot(runtime, RunRequest("counting-bot", limit=0))  # ingest only
        queue = runtime.ledger.items
        claims = queue.claim_many("counting-bot", "run-x", 3)
        assert [c.item_id for c in claims] == [1, 2, 3]
        assert [c.state for c in queue.mark_many_in_flight(claims)] == [ItemState.IN_FLIGHT] * 3
        with runtime.ledger.engine.begin() as conn:  # another run adopts item 2
            conn.execute(update(items).where(items.c.id == 2).values(fence=items.c.fence + 1))
        moves = [Move.finish(c, ItemState.DONE, reference=None, error=None) for c in claims]
        with pytest.raises(LeaseLostError) as caught:
            queue.apply(moves)
        assert "1, 2, 3" in str(caught.value)
        assert states(runtime) == {ItemState.IN_FLIGHT: 3, ItemState.PENDING: 2}
        queue.apply(moves[:1] + moves[2:])
        assert states(runtime) == {ItemState.DONE: 2, ItemState.IN_FLIGHT: 1, ItemState.PENDING: 2}


def test_a_batch_write_is_all_or_nothing(tmp_path: Path):
    all_or_nothing(counting_home(tmp_path, people(5)))


def batches_with_failures(home: Path, rows: list[dict[str, Any]]) -> None:
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
        assert states(runtime) == {ItemState.DONE: len(rows) - 1, ItemState.FAILED: 1}
    assert run.counts.done == len(rows) - 1
    assert writes(home) == {row["Ref"]: 1 for row in rows if row["Amount"] != 999}


@pytest.mark.postgres
def test_batches_on_postgresql(tmp_path: Path, postgres_url: str):
    rows = people(12)
    rows[3]["Amount"] = 999
    borough = {"ledger": {"url": postgres_url}, "audit": {"checkpoint_every": 50}}
    home = counting_home(
        tmp_path / "batches",
        rows,
        target={"fail_after_rate": 0.3, "fail_before_rate": 0.2, "seed": 3},
        retry={**FAST_RETRY, "attempts": 10},
        borough=borough,
        bot_options={"batch": 5},
    )
    batches_with_failures(home, rows)


@pytest.mark.postgres
def test_a_batch_write_is_all_or_nothing_on_postgresql(tmp_path: Path, postgres_url: str):
    borough = {"ledger": {"url": postgres_url}, "audit": {"checkpoint_every": 50}}
    all_or_nothing(counting_home(tmp_path, people(5), borough=borough))
