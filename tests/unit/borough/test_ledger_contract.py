"""The same ledger contract over every store: SQLite (embedded) and PostgreSQL (scale-out)."""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from borough.errors import LeaseLostError, LedgerError
from borough.ledger import ItemState, Ledger, RunStatus, Sealer, schema
from borough.ledger.runs import utcnow
from tests.support.ledger import new


def test_ingest_is_idempotent_by_key(ledger: Ledger):
    run = ledger.runs.create("bot", "1")
    first = ledger.items.ingest("bot", run.id, [new("a"), new("b")])
    again = ledger.items.ingest("bot", run.id, [new("a"), new("c")])
    assert [o.value for _, o in first] == ["new", "new"]
    assert [o.value for _, o in again] == ["known", "new"]
    assert len(ledger.items.list(bot="bot")) == 3


def test_a_large_batch_keeps_each_rows_outcome_in_order(ledger: Ledger):
    """Ingest inserts many rows at once: every row still gets its own outcome, in input
    order, across chunks; a key twice in one batch is new once; a corrected invalid row
    replaces its item and an unchanged one is known."""
    run = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", run.id, [new("bad", invalid="row 2: Amount"), new("old")])
    batch = [new(str(i)) for i in range(1_200)]
    batch[10] = new("5")  # again, in the same chunk
    batch[700] = new("3")  # again, in the next chunk
    batch[900] = new("old")
    batch[901] = new("bad")  # the corrected row
    batch[902] = new("bad")  # the same correction again: known now
    result = ledger.items.ingest("bot", run.id, batch)
    outcomes = [outcome.value for _, outcome in result]
    expected = ["new"] * 1_200
    expected[10] = expected[700] = expected[900] = expected[902] = "known"
    expected[901] = "corrected"
    assert outcomes == expected
    assert [record.key_token for record, _ in result] == [n.key_token for n in batch]
    assert result[10][0].id == result[5][0].id and result[700][0].id == result[3][0].id
    corrected = result[901][0]
    assert corrected.state is ItemState.PENDING and corrected.error is None
    assert result[902][0].state is ItemState.PENDING
    assert sum(ledger.items.count_by_state(bot="bot").values()) == 1_195 + 2


def test_payload_is_sealed_at_rest(ledger: Ledger):
    run = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", run.id, [new("a")])
    with ledger.engine.connect() as conn:
        raw = conn.execute(text("SELECT payload FROM borough_items")).scalar_one()
    # Fernet tokens are url-safe base64: neither quotes nor UTF-8 letters like ë can occur
    assert "Zoë".encode() not in bytes(raw) and b'"name"' not in bytes(raw)
    assert ledger.items.list(bot="bot", unseal=True)[0].data == {"key": "a", "name": "Zoë"}


def test_claims_are_exclusive_under_contention(ledger: Ledger):
    run = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", run.id, [new(str(i)) for i in range(60)])
    taken: list[int] = []
    lock = threading.Lock()

    def worker(run_id: str) -> None:
        while (claim := ledger.items.claim_next("bot", run_id)) is not None:
            with lock:
                taken.append(claim.item_id)

    runs = [ledger.runs.create("bot", "1").id for _ in range(4)]
    threads = [threading.Thread(target=worker, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == sorted(set(taken)) and len(taken) == 60


def test_a_stale_claim_cannot_write_after_takeover(ledger: Ledger):
    first = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", first.id, [new("a")])
    claim = ledger.items.mark_in_flight(ledger.items.claim_next("bot", first.id))
    ledger.runs.finish(first.id, RunStatus.CRASHED)
    second = ledger.runs.create("bot", "1")
    adopted = ledger.items.adopt_orphans("bot", second.id)
    assert [c.item_id for c in adopted] == [claim.item_id]
    with pytest.raises(LeaseLostError):
        ledger.items.finish(claim, ItemState.DONE, reference="R1")
    ledger.items.finish(adopted[0], ItemState.DONE, reference="R2")
    assert ledger.items.get(claim.item_id).reference == "R2"


def test_a_large_batchs_moves_commit_together_or_not_at_all(ledger: Ledger):
    """A batch's intents (alike: one statement per few hundred items) and its outcomes (some
    alike, some each with a reference of its own): one item taken over in the last part
    fails the whole write, and nothing of it stays; without that item all of it commits."""
    from sqlalchemy import update

    from borough.ledger.moves import Move
    from borough.ledger.schema import items

    run = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", run.id, [new(str(i)) for i in range(850)])
    claims = ledger.items.mark_many_in_flight(ledger.items.claim_many("bot", run.id, 850))
    assert ledger.items.count_by_state(bot="bot") == {ItemState.IN_FLIGHT: 850}
    worked = ledger.items.claimed(claims[:2])  # what the worker reads: tokens, unsealed data
    assert sorted((d.key_token, d.key, d.data, d.subjects) for d in worked.values()) == [
        ("tok-0", "0", {"key": "0", "name": "Zoë"}, ("p_x",)),
        ("tok-1", "1", {"key": "1", "name": "Zoë"}, ("p_x",)),
    ]
    moves = [
        Move.finish(claim, ItemState.DONE, reference=None if n < 800 else f"R{n}", error=None)
        for n, claim in enumerate(claims)
    ]
    for taken in (claims[799], claims[820]):  # one alike, one with a reference
        with ledger.engine.begin() as conn:  # another run adopts it
            conn.execute(
                update(items).where(items.c.id == taken.item_id).values(fence=items.c.fence + 1)
            )
        with pytest.raises(LeaseLostError):
            ledger.items.apply(moves)
        assert ledger.items.count_by_state(bot="bot") == {ItemState.IN_FLIGHT: 850}
        moves = [move for move in moves if move.claim is not taken]
    ledger.items.apply(moves)
    assert ledger.items.count_by_state(bot="bot") == {ItemState.DONE: 848, ItemState.IN_FLIGHT: 2}
    assert ledger.items.get(claims[849].item_id).reference == "R849"
    assert ledger.items.get(claims[0].item_id).owner_run is None


def test_orphans_of_live_runs_are_left_alone(ledger: Ledger):
    owner = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", owner.id, [new("a")])
    ledger.items.claim_next("bot", owner.id)
    other = ledger.runs.create("bot", "1")
    assert ledger.items.adopt_orphans("bot", other.id) == []


def test_items_of_a_run_started_after_the_adopter_last_looked_are_left_alone(ledger: Ledger):
    """Two runs of one bot started together: the first must not take the item the second
    has just claimed and is writing (it did, from a list of live runs read too early)."""
    adopter = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", adopter.id, [new("a"), new("b")])
    late = ledger.runs.create("bot", "1")
    claim = ledger.items.mark_in_flight(ledger.items.claim_next("bot", late.id))
    assert ledger.items.adopt_orphans("bot", adopter.id) == []
    ledger.items.finish(claim, ItemState.DONE, reference="R1")
    assert ledger.items.get(claim.item_id).reference == "R1"


def test_items_of_an_ended_run_are_adopted_without_a_list_of_live_runs(ledger: Ledger):
    first = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", first.id, [new("a")])
    claim = ledger.items.mark_in_flight(ledger.items.claim_next("bot", first.id))
    ledger.runs.finish(first.id, RunStatus.CRASHED)
    second = ledger.runs.create("bot", "1")
    adopted = ledger.items.adopt_orphans("bot", second.id)
    assert [c.item_id for c in adopted] == [claim.item_id]


def test_runs_started_together_never_take_each_others_items(ledger: Ledger):
    """Runs of one bot keep starting beside each other (each works two items and ends),
    each looking for orphans before every claim as a run does: every item is finished by
    the run that claimed it, none is taken over."""
    owner = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", owner.id, [new(str(i)) for i in range(160)])
    ledger.runs.finish(owner.id, RunStatus.SUCCEEDED)
    lost: list[str] = []
    adopted: list[int] = []

    def run() -> None:
        while True:
            run_id = ledger.runs.create("bot", "1").id
            for _ in range(2):
                adopted.extend(c.item_id for c in ledger.items.adopt_orphans("bot", run_id))
                claim = ledger.items.claim_next("bot", run_id)
                if claim is None:
                    ledger.runs.finish(run_id, RunStatus.SUCCEEDED)
                    return
                try:
                    claim = ledger.items.mark_in_flight(claim)
                    ledger.items.finish(claim, ItemState.DONE, reference=run_id)
                except LeaseLostError as exc:
                    lost.append(str(exc))
            ledger.runs.finish(run_id, RunStatus.SUCCEEDED)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert lost == [] and adopted == []
    assert {i.state for i in ledger.items.list(bot="bot")} == {ItemState.DONE}


def test_claimed_orphans_go_back_to_pending(ledger: Ledger):
    owner = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", owner.id, [new("a")])
    ledger.items.claim_next("bot", owner.id)
    ledger.runs.finish(owner.id, RunStatus.CRASHED)
    other = ledger.runs.create("bot", "1")
    assert ledger.items.adopt_orphans("bot", other.id) == []
    assert ledger.items.list(bot="bot")[0].state is ItemState.PENDING


def test_retry_waits_for_its_time(ledger: Ledger):
    run = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", run.id, [new("a")])
    claim = ledger.items.claim_next("bot", run.id)
    ledger.items.release(claim, not_before=utcnow() + timedelta(hours=1), error="later")
    assert ledger.items.claim_next("bot", run.id) is None
    assert ledger.items.next_due("bot") > utcnow()


def test_operator_moves_only_from_allowed_states(ledger: Ledger):
    run = ledger.runs.create("bot", "1")
    ledger.items.ingest("bot", run.id, [new("bad", invalid="row 2: Amount: not a number")])
    item = ledger.items.list(bot="bot")[0]
    assert item.state is ItemState.FAILED
    with pytest.raises(LedgerError, match="needs it to be NEEDS_REVIEW"):
        ledger.items.operator_move(
            item.id, allowed_from=[ItemState.NEEDS_REVIEW], to=ItemState.DONE, resolution="x"
        )
    moved = ledger.items.operator_move(
        item.id,
        allowed_from=[ItemState.FAILED],
        to=ItemState.PENDING,
        resolution="retry by user:ann",
    )
    assert moved.state is ItemState.PENDING and moved.attempt == 0


def test_dead_local_runs_are_reaped(ledger: Ledger):
    run = ledger.runs.create("bot", "1")
    reaped = ledger.runs.reap(300, alive=lambda pid, marker: False)
    assert [r.run.id for r in reaped] == [run.id]
    assert ledger.runs.get(run.id).status is RunStatus.CRASHED


def test_run_ids_resolve_by_unique_prefix(ledger: Ledger):
    run = ledger.runs.create("bot", "1")
    assert ledger.runs.get(run.id[:-2]).id == run.id
    with pytest.raises(LedgerError, match="matches no run"):
        ledger.runs.get("19990101")


def test_a_newer_schema_version_is_refused(ledger: Ledger):
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE borough_meta SET value = '99' WHERE key = 'schema_version'"))
    expected = f"has schema version 99; this borough reads version {schema.SCHEMA_VERSION}"
    with pytest.raises(LedgerError, match=expected):
        type(ledger)(ledger.engine, Sealer(secrets.token_bytes(32)))


def test_run_list_pages_newest_first(ledger: Ledger):
    ids = [ledger.runs.create("bot", "1", run_id=f"2026010{i}-000000-aaaaaa").id for i in range(5)]
    first = [r.id for r in ledger.runs.list(limit=2)]
    second = [r.id for r in ledger.runs.list(limit=2, offset=2)]
    assert first + second == [ids[4], ids[3], ids[2], ids[1]]
