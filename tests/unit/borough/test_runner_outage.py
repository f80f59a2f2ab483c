"""A run that loses the ledger's database while ingesting or recording its end pauses
until the database answers, proves its lease, and ends with its real outcome."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from borough import ingest as ingest_module
from borough import run_outage
from borough.errors import LedgerUnreachableError
from borough.item_worker import RunCancelled
from borough.ledger import ItemState, RunStatus, txn
from borough.runner import RunRequest, run_bot
from borough.testing import counted_writes, runtime_in
from tests.support.installs import counting_home, people
from tests.support.reliability import audit_records

BATCH = 50  #: ingest's batch in these tests (its size does not matter to an outage)
ROWS = BATCH + 20  # two ingest batches


class Outage:
    """Every statement on the ledger fails while its database is down, as on a dropped
    connection; it comes back after ``probes`` looks (``reachable()``) found it down."""

    def __init__(self, ledger: Any, probes: int = 2) -> None:
        self.down, self.probes, self.looks, self.cuts = False, probes, 0, 0
        for name in ("do_execute", "do_execute_no_params", "do_executemany"):
            event.listen(ledger.engine.dialect, name, self._statement)
        probe = ledger.reachable

        def counted() -> bool:
            answers = probe()
            if not answers:
                self.looks += 1
                self.down = self.looks < self.probes
            return answers

        ledger.reachable = counted

    def cut(self) -> None:
        self.down, self.looks = True, 0
        self.cuts += 1

    def _statement(self, *_: Any) -> bool:
        if self.down:
            raise sqlite3.OperationalError("unable to open database file")
        return False


@pytest.fixture(autouse=True)
def quick_looks(monkeypatch):
    monkeypatch.setattr(run_outage, "DB_RETRY_FIRST", 0.01)
    monkeypatch.setattr(run_outage, "DB_RETRY_MAX", 0.02)


def after_the_end_record(monkeypatch, home: Path, then: Callable[[Any], None]) -> None:
    """Call ``then(conn)`` once ``run.end`` is in the trail, inside the end's transaction."""
    original, done = txn.record_in, []

    def patched(conn: Any, audit: Any, *rest: Any) -> Any:
        seq = original(conn, audit, *rest)
        if not done and any(r["action"] == "run.end" for r in audit_records(home)):
            done.append(True)
            then(conn)
        return seq

    monkeypatch.setattr(txn, "record_in", patched)


def ended_once(home: Path, run_id: str) -> str:
    ends = [r for r in audit_records(home) if r["action"] == "run.end" and r["run_id"] == run_id]
    assert len(ends) == 1, ends
    return ends[0]["outcome"]


def test_a_run_that_loses_the_ledger_during_ingest_pauses_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(ingest_module, "BATCH", BATCH)
    home = counting_home(tmp_path, people(ROWS))
    with runtime_in(home) as runtime:
        outage = Outage(runtime.ledger)
        ingest, batches = runtime.ledger.items.ingest, Counter[str]()

        def cut_at_the_second_batch(*args: Any, **kwargs: Any) -> Any:
            batches["calls"] += 1
            if batches["calls"] == 2:
                outage.cut()
            return ingest(*args, **kwargs)

        runtime.ledger.items.ingest = cut_at_the_second_batch  # type: ignore[method-assign]
        run = run_bot(runtime, RunRequest("counting-bot"))
        items = runtime.ledger.items.count_by_state(bot="counting-bot")
    assert outage.cuts == 1 and not outage.down
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert items == {ItemState.DONE: ROWS}
    assert run.counts.ingested == ROWS and run.counts.done == ROWS
    assert counted_writes(home / "var/target.sqlite") == {
        f"R{i:04d}": 1 for i in range(1, ROWS + 1)
    }
    ingested = Counter(r["item"] for r in audit_records(home) if r["action"] == "item.ingested")
    assert len(ingested) == ROWS and set(ingested.values()) == {1}
    assert ended_once(home, run.id) == "succeeded"


def test_a_run_that_loses_the_ledger_while_recording_its_end_records_it_once(
    tmp_path: Path, monkeypatch
):
    """Cut after ``run.end`` is in the trail but before the ledger committed it."""
    home = counting_home(tmp_path, people(5))
    with runtime_in(home) as runtime:
        outage = Outage(runtime.ledger)
        after_the_end_record(monkeypatch, home, lambda _: outage.cut())
        run = run_bot(runtime, RunRequest("counting-bot"))
    assert outage.cuts == 1 and not outage.down
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert run.counts.done == 5
    assert counted_writes(home / "var/target.sqlite") == {f"R{i:04d}": 1 for i in range(1, 6)}
    assert ended_once(home, run.id) == "succeeded"


def test_a_run_stopped_while_its_end_waits_for_the_ledger_says_so_in_one_line(tmp_path: Path):
    home = counting_home(tmp_path, people(3))
    with runtime_in(home) as runtime:
        outage = Outage(runtime.ledger, probes=10**9)
        finish, reachable = runtime.ledger.runs.finish, runtime.ledger.reachable
        looks = Counter[str]()

        def cut_then_finish(*args: Any, **kwargs: Any) -> Any:
            outage.cut()
            return finish(*args, **kwargs)

        def stopped_on_the_second_look() -> bool:
            looks["n"] += 1
            if looks["n"] == 2:
                raise RunCancelled()  # SIGTERM while the run waits for the database
            return reachable()

        runtime.ledger.runs.finish = cut_then_finish  # type: ignore[method-assign]
        runtime.ledger.reachable = stopped_on_the_second_look  # type: ignore[method-assign]
        with pytest.raises(LedgerUnreachableError) as raised:
            run_bot(runtime, RunRequest("counting-bot"))
        outage.down = False
        run = runtime.ledger.runs.get(raised.value.args[0].split()[1])
    message = str(raised.value)
    assert "\n" not in message and "unreachable" in message and "not recorded" in message
    assert run.status is RunStatus.RUNNING  # the truth: nothing recorded its end


def test_a_run_taken_over_while_its_end_waited_stops_without_a_second_end(
    tmp_path: Path, monkeypatch
):
    """Its ``run.end`` is in the trail; while the database was away another host's reaper
    ended the run as that record says. Back, the run is fenced and writes nothing more."""
    home = counting_home(tmp_path, people(4))
    with runtime_in(home) as runtime:
        outage = Outage(runtime.ledger)
        reaper = create_engine(str(runtime.ledger.engine.url))

        def cut_and_reap(conn: Any) -> None:
            outage.cut()
            conn.connection.dbapi_connection.rollback()  # dropped: nothing committed
            with reaper.begin() as other:
                other.execute(
                    text("UPDATE borough_runs SET status = 'succeeded' WHERE status = 'running'")
                )

        after_the_end_record(monkeypatch, home, cut_and_reap)
        try:
            run = run_bot(runtime, RunRequest("counting-bot"))
        finally:
            reaper.dispose()
    actions = [
        r["action"]
        for r in audit_records(home)
        if r.get("run_id") == run.id and r["action"] != "audit.checkpoint"
    ]
    assert outage.cuts == 1
    assert run.status is RunStatus.SUCCEEDED
    assert ended_once(home, run.id) == "succeeded"
    assert "run.fenced" not in actions
    assert actions[-1] == "run.end"
    assert counted_writes(home / "var/target.sqlite") == {f"R{i:04d}": 1 for i in range(1, 5)}
