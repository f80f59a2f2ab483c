"""Leases, fencing, write-ahead audit and licence seats: the ledger's rules, on every store.

A run of another host ("host-a" here; the tests' own host plays the reaper) is judged by
heartbeat age only; a run of this host by its process only.
"""

from __future__ import annotations

import os
import secrets
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, inspect, text, update

from borough.errors import AuditError, FireRecordedError, LeaseLostError, RunFencedError
from borough.ledger import ItemState, Ledger, RunCounts, RunLease, RunStatus, Sealer, open_ledger
from borough.ledger import schema as ledger_schema
from borough.ledger.lease import LeaseStale, boot_clock
from borough.ledger.reaping import RecordedEnd, reap_one
from borough.ledger.runs import utcnow
from borough.ledger.schema import runs as runs_table
from borough.ledger.seats import SeatsTaken
from tests.support.ledger import new

LEASE, GRACE = 10.0, 5.0


def remote_run(ledger: Ledger, *, silent: float) -> tuple[str, RunLease]:
    """A RUNNING run of host-a whose last heartbeat was ``silent`` seconds ago, and its lease."""
    run = ledger.runs.create("bot", "1")
    with ledger.engine.begin() as conn:
        conn.execute(
            update(runs_table)
            .where(runs_table.c.id == run.id)
            .values(host="host-a", heartbeat_at=utcnow() - timedelta(seconds=silent))
        )
    lease = RunLease(run.id, LEASE, GRACE, host="host-a", pid=os.getpid())
    lease.renewed_mark = boot_clock() - silent
    return run.id, lease


def reap(ledger: Ledger, **options):
    return ledger.runs.reap(LEASE, grace_seconds=GRACE, **options)


def fail_audit(*_args: object) -> None:
    raise AuditError("disk full")


def test_a_remote_run_is_reaped_only_after_the_lease_and_the_grace(ledger: Ledger):
    within, _ = remote_run(ledger, silent=LEASE + GRACE - 2)
    beyond, _ = remote_run(ledger, silent=LEASE + GRACE + 2)
    assert [r.run.id for r in reap(ledger)] == [beyond]
    assert ledger.runs.get(within).status is RunStatus.RUNNING
    assert ledger.runs.get(beyond).status is RunStatus.CRASHED


def test_an_alive_local_run_is_never_reaped_for_silence(ledger: Ledger):
    run = ledger.runs.create("bot", "1")  # this process: alive
    with ledger.engine.begin() as conn:
        old = utcnow() - timedelta(hours=5)
        conn.execute(update(runs_table).where(runs_table.c.id == run.id).values(heartbeat_at=old))
    assert reap(ledger) == []
    assert ledger.runs.get(run.id).status is RunStatus.RUNNING
    assert [r.run.id for r in reap(ledger, alive=lambda pid, marker: False)] == [run.id]


def test_renewal_after_a_reap_changes_nothing_and_fences_the_run(ledger: Ledger):
    run_id, lease = remote_run(ledger, silent=LEASE + GRACE + 1)
    reap(ledger)
    assert ledger.runs.renew(lease) is False
    assert lease.fenced is not None and "CRASHED" in lease.fenced
    assert ledger.runs.get(run_id).status is RunStatus.CRASHED
    with pytest.raises(RunFencedError):
        ledger.runs.keep(lease)


def test_a_renewal_before_the_reap_commits_wins(ledger: Ledger):
    run_id, lease = remote_run(ledger, silent=LEASE + GRACE + 1)
    seen = ledger.runs.get(run_id)  # the reaper read the run as stale ...
    assert ledger.runs.renew(lease) is True  # ... but the holder renewed first
    stale_before = utcnow() - timedelta(seconds=LEASE + GRACE)
    assert reap_one(ledger.engine, seen, "stale", stale_before=stale_before) is None
    assert ledger.runs.get(run_id).status is RunStatus.RUNNING


def test_no_claim_without_the_lease(ledger: Ledger):
    run_id, lease = remote_run(ledger, silent=LEASE + GRACE + 1)
    ledger.items.ingest("bot", run_id, [new("a")])
    reap(ledger)
    with pytest.raises(RunFencedError):
        ledger.items.claim_next("bot", run_id, lease=lease)
    assert ledger.items.list(bot="bot")[0].state is ItemState.PENDING


def test_no_intent_without_the_lease_and_no_record_either(ledger: Ledger):
    run_id, lease = remote_run(ledger, silent=1)
    ledger.items.ingest("bot", run_id, [new("a")])
    claim = ledger.items.claim_next("bot", run_id, lease=lease)
    with ledger.engine.begin() as conn:  # silent since the claim, and reaped
        old = utcnow() - timedelta(seconds=LEASE + GRACE + 1)
        conn.execute(update(runs_table).where(runs_table.c.id == run_id).values(heartbeat_at=old))
    reap(ledger)
    recorded: list[str] = []
    with pytest.raises(RunFencedError):
        ledger.items.mark_in_flight(claim, lease=lease, audit=lambda: recorded.append("intent"))
    assert recorded == []
    assert ledger.items.get(claim.item_id).state is ItemState.CLAIMED


def test_a_stale_but_unreaped_lease_is_renewed_before_the_intent(ledger: Ledger):
    run_id, lease = remote_run(ledger, silent=LEASE + 1)  # past the lease, within the grace
    ledger.items.ingest("bot", run_id, [new("a")])
    with pytest.raises(LeaseStale):
        ledger.items.claim_next("bot", run_id, lease=lease)
    claim = ledger.runs.under_lease(
        lease, lambda: ledger.items.claim_next("bot", run_id, lease=lease)
    )
    assert claim is not None and lease.fenced is None
    assert lease.silent_seconds() < 1


def test_the_grace_is_left_after_every_proof(ledger: Ledger):
    """A proof needs a heartbeat younger than the lease, so no reaper may act for a grace."""
    run_id, lease = remote_run(ledger, silent=LEASE - 1)
    ledger.items.ingest("bot", run_id, [new("a")])
    assert ledger.items.claim_next("bot", run_id, lease=lease) is not None
    assert reap(ledger) == []  # LEASE - 1 + GRACE still to go before anyone may reap


def test_item_changes_roll_back_when_their_record_cannot_be_written(ledger: Ledger):
    run = ledger.runs.create("bot", "1")
    with pytest.raises(AuditError):
        ledger.items.ingest("bot", run.id, [new("a")], audit=fail_audit)
    assert ledger.items.list(bot="bot") == []
    ledger.items.ingest("bot", run.id, [new("a")])
    claim = ledger.items.claim_next("bot", run.id)
    with pytest.raises(AuditError):
        ledger.items.mark_in_flight(claim, audit=fail_audit)
    assert ledger.items.get(claim.item_id).state is ItemState.CLAIMED
    claim = ledger.items.mark_in_flight(claim)
    with pytest.raises(AuditError):
        ledger.items.finish(claim, ItemState.DONE, reference="R1", audit=fail_audit)
    assert ledger.items.get(claim.item_id).state is ItemState.IN_FLIGHT


def test_a_stale_holder_writes_no_record(ledger: Ledger):
    first = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", first.id, [new("a")])
    claim = ledger.items.mark_in_flight(ledger.items.claim_next("bot", first.id))
    ledger.runs.finish(first.id, RunStatus.CRASHED)
    second = ledger.runs.create("bot", "1")
    adopted: list[str] = []
    ledger.items.adopt_orphans(
        "bot", second.id, audit=lambda item, c: adopted.append(item.key_token)
    )
    recorded: list[str] = []
    with pytest.raises(LeaseLostError):
        ledger.items.finish(claim, ItemState.DONE, audit=lambda: recorded.append("done"))
    assert adopted == ["tok-a"] and recorded == []


def test_operator_moves_need_their_record(ledger: Ledger):
    run = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", run.id, [new("bad", invalid="row 2: Amount: not a number")])
    item = ledger.items.list(bot="bot")[0]
    with pytest.raises(AuditError):
        ledger.items.operator_move(
            item.id,
            allowed_from=[ItemState.FAILED],
            to=ItemState.PENDING,
            resolution="retry",
            audit=fail_audit,
        )
    assert ledger.items.get(item.id).state is ItemState.FAILED


def test_a_dead_run_that_recorded_its_end_finishes_as_recorded(ledger: Ledger):
    run = ledger.runs.create("bot", "1")
    counts = RunCounts(ingested=3, done=3)
    recorded = RecordedEnd(RunStatus.SUCCEEDED, counts, None, seq=42)
    reaped = reap(ledger, alive=lambda pid, marker: False, recorded_end=lambda r: recorded)
    assert [r.status for r in reaped] == [RunStatus.SUCCEEDED]
    after = ledger.runs.get(run.id)
    assert (after.status, after.counts, after.audit_seq_end) == (RunStatus.SUCCEEDED, counts, 42)


def test_a_reap_whose_record_fails_changes_nothing(ledger: Ledger):
    run = ledger.runs.create("bot", "1")
    with pytest.raises(AuditError):
        reap(ledger, alive=lambda pid, marker: False, audit=fail_audit)
    assert ledger.runs.get(run.id).status is RunStatus.RUNNING


def test_a_seat_has_one_holder_until_its_run_ends_or_is_reaped(ledger: Ledger):
    first = ledger.runs.create("bot", "1", seats={"app": 1})
    with pytest.raises(SeatsTaken) as taken:
        ledger.runs.create("bot", "1", seats={"app": 1})
    assert taken.value.busy.holders[0].run_id == first.id
    assert len(ledger.runs.list()) == 1, "a run that found no seat is not recorded"
    ledger.runs.finish(first.id, RunStatus.SUCCEEDED)
    second = ledger.runs.create("bot", "1", seats={"app": 1})
    reap(ledger, alive=lambda pid, marker: False)
    assert ledger.runs.get(second.id).status is RunStatus.CRASHED
    assert ledger.runs.create("bot", "1", seats={"app": 1}).status is RunStatus.RUNNING


def test_seats_are_taken_all_or_none(ledger: Ledger):
    ledger.runs.create("bot", "1", seats={"b": 1})
    with pytest.raises(SeatsTaken):
        ledger.runs.create("bot", "1", seats={"a": 1, "b": 1})
    assert [h.app for h in ledger.runs.seat_holders()] == ["b"]


def test_n_seats_admit_n_runs_under_contention(ledger: Ledger):
    queued = [ledger.runs.create("bot", "1", status=RunStatus.QUEUED).id for _ in range(12)]
    winners: list[str] = []
    lock = threading.Lock()

    def take(run_id: str) -> None:
        if ledger.runs.take_seats(run_id, {"app": 3}) is None:
            with lock:
                winners.append(run_id)

    threads = [threading.Thread(target=take, args=(run_id,)) for run_id in queued]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 3
    assert sorted(h.slot for h in ledger.runs.seat_holders("app")) == [1, 2, 3]


def test_a_queued_run_keeps_the_seats_taken_for_it_when_it_starts(ledger: Ledger):
    run = ledger.runs.create("bot", "1", status=RunStatus.QUEUED)
    assert ledger.runs.take_seats(run.id, {"app": 1}) is None
    started = ledger.runs.start(run.id, seats={"app": 1})
    assert started.status is RunStatus.RUNNING
    assert [h.run_id for h in ledger.runs.seat_holders()] == [run.id]


def test_a_version_1_ledger_gains_the_seats_table_and_keeps_its_runs(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = MetaData()
    for table in ledger_schema.metadata.sorted_tables:
        if table.name != "borough_seats":
            table.to_metadata(old)
    engine = create_engine(url)
    with engine.begin() as conn:
        old.create_all(conn)
        conn.execute(text("INSERT INTO borough_meta VALUES ('schema_version', '1')"))
        conn.execute(
            text(
                "INSERT INTO borough_runs (id, bot, bot_version, trigger, status, host, "
                "created_at, counts, detail) VALUES ('r1', 'bot', '1', 'manual', 'succeeded', "
                "'h', '2026-01-01 00:00:00', '{}', '{}')"
            )
        )
    engine.dispose()
    ledger = open_ledger(url, Sealer(secrets.token_bytes(32)))
    try:
        assert "borough_seats" in inspect(ledger.engine).get_table_names()
        assert ledger.runs.get("r1").status is RunStatus.SUCCEEDED
        assert ledger.runs.create("bot", "1", seats={"app": 1}).status is RunStatus.RUNNING
        with ledger.engine.connect() as conn:
            version = conn.execute(
                text("SELECT value FROM borough_meta WHERE key = 'schema_version'")
            ).scalar()
        assert version == str(ledger_schema.SCHEMA_VERSION)
    finally:
        ledger.close()


def test_a_version_2_ledger_gains_the_fire_key_and_keeps_a_fire_recorded_twice(tmp_path: Path):
    """An older split brain may have left one fire recorded twice: the upgrade still opens
    the ledger (old rows have no key), and from then on a fire is refused a second row."""
    url = f"sqlite:///{tmp_path / 'v2.sqlite'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        ledger_schema.metadata.create_all(conn)
        conn.execute(text("DROP INDEX uq_runs_fire_key"))
        conn.execute(text("ALTER TABLE borough_runs DROP COLUMN fire_key"))
        conn.execute(text("INSERT INTO borough_meta VALUES ('schema_version', '2')"))
        for run_id in ("r1", "r2"):
            conn.execute(
                text(
                    "INSERT INTO borough_runs (id, bot, bot_version, trigger, schedule, status, "
                    "host, created_at, fire_time, counts, detail) VALUES (:id, 'bot', '1', "
                    "'schedule:s', 's', 'succeeded', 'h', '2026-01-01 00:00:00', "
                    "'2026-01-01 00:00:00', '{}', '{}')"
                ),
                {"id": run_id},
            )
    engine.dispose()
    ledger = open_ledger(url, Sealer(secrets.token_bytes(32)))
    try:
        fire = utcnow()
        ledger.runs.create("bot", "1", trigger="schedule:s", schedule="s", fire_time=fire)
        with pytest.raises(FireRecordedError):
            ledger.runs.create("bot", "1", trigger="schedule:s", schedule="s", fire_time=fire)
        part = ledger.runs.create("bot", "1", trigger="part:x", schedule="s", fire_time=fire)
        assert {r.id for r in ledger.runs.list(schedule="s", limit=10)} >= {"r1", "r2", part.id}
    finally:
        ledger.close()
