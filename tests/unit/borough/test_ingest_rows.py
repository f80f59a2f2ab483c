"""Ingest's own insert (driver SQL, values converted once per batch) stores exactly what a
SQLAlchemy insert of the same item stores, and answers what reading the rows back would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, text

from borough.ledger import Ingested, ItemState, Ledger, NewItem
from borough.ledger import items as items_module
from borough.ledger.schema import items
from tests.support.ledger import new

NOW = datetime(2026, 12, 5, 4, 30, 15, 123456, tzinfo=UTC)
RAW = (
    "bot, key_token, state, attempt, fence, owner_run, not_before, reference, error, invalid, "
    "source, digest, subjects, data_categories, first_run, last_run, resolution, created_at, "
    "updated_at"
)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(items_module, "utcnow", lambda: NOW)


def _raw(ledger: Ledger, key_token: str) -> tuple[object, ...]:
    with ledger.engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT {RAW} FROM borough_items WHERE key_token = :k"), {"k": key_token}
        ).one()
    return tuple(row)


def _person(key: str, invalid: str | None = None) -> NewItem:
    base = new(key, invalid)
    return NewItem(
        key_token=base.key_token,
        key=base.key,
        data=base.data,
        source=base.source,
        subjects=["p_b", "p_a", "p_b"],
        data_categories=["name", "email"],
        invalid_reason=invalid,
        digest=base.digest,
    )


@pytest.mark.parametrize("invalid", [None, "in.csv row 2: amount: not a number"])
def test_a_new_row_is_stored_as_a_sqlalchemy_insert_stores_it(ledger: Ledger, invalid):
    ingested = _person("A1", invalid)
    [(record, outcome)] = ledger.items.ingest("bot", "run-1", [ingested])
    assert outcome is Ingested.NEW
    state = ItemState.FAILED if invalid else ItemState.PENDING
    with ledger.engine.begin() as conn:  # the same item, through SQLAlchemy's own binding
        conn.execute(
            insert(items).values(
                bot="bot",
                key_token="by-sqlalchemy",
                state=state.value,
                attempt=0,
                fence=0,
                error=invalid,
                invalid=invalid is not None,
                source=ingested.source,
                payload=b"x",
                digest=ingested.digest,
                subjects="p_a p_b",
                data_categories="email name",
                first_run="run-1",
                last_run="run-1",
                created_at=NOW,
                updated_at=NOW,
            )
        )
        if ledger.engine.dialect.name == "sqlite":
            kinds = conn.execute(select(text("typeof(payload)")).select_from(items)).scalars()
            assert set(kinds) == {"blob"}
    ours, theirs = _raw(ledger, ingested.key_token), _raw(ledger, "by-sqlalchemy")
    assert ours[0] == theirs[0] and ours[2:] == theirs[2:]
    assert ledger.items.get(record.id, unseal=True).data == ingested.data


def test_the_records_of_new_rows_are_what_reading_them_back_gives(ledger: Ledger):
    batch = [_person(f"K{n}", "bad row" if n % 3 == 0 else None) for n in range(7)]
    recorded = ledger.items.ingest("bot", "run-1", batch)
    assert [outcome for _, outcome in recorded] == [Ingested.NEW] * 7
    for record, _ in recorded:
        assert record == ledger.items.get(record.id)


def test_a_key_twice_in_one_batch_is_new_once_and_a_correction_the_second_time(ledger: Ledger):
    first, again, fixed = new("D1", "bad row"), new("D1", "bad row"), new("D1")
    recorded = ledger.items.ingest("bot", "run-1", [first, again, fixed, new("D2")])
    outcomes = [outcome for _, outcome in recorded]
    assert outcomes == [Ingested.NEW, Ingested.KNOWN, Ingested.CORRECTED, Ingested.NEW]
    assert recorded[2][0].state is ItemState.PENDING and recorded[2][0].fence == 1
    assert ledger.items.get(recorded[0][0].id).state is ItemState.PENDING
    assert [o for _, o in ledger.items.ingest("bot", "run-2", [new("D1"), new("D2")])] == [
        Ingested.KNOWN,
        Ingested.KNOWN,
    ]
