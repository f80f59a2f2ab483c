"""The index's pages come back newest first, the same whichever way the database finds them.

A frequent action is paged through the time index, a rare one through the action index, a
person's records through the person index's own order; an auditor must see the same rows,
in the same order, with nothing skipped or repeated between pages, either way. (The
``ledger`` fixture, SQLite and PostgreSQL, is in conftest.py.)
"""

from __future__ import annotations

import pytest

from borough.audit.indexrows import Entry, Filters, IndexRow
from borough.ledger import Ledger, auditindex

ALICE = "p_" + "a" * 20
BOB = "p_" + "b" * 20


def entries(trail: str, count: int) -> list[Entry]:
    """``count`` records; timestamps interleave between trails and repeat (ties by seq)."""
    made = []
    for seq in range(1, count + 1):
        action = "item.failed" if seq % 25 == 0 else ("item.done" if seq % 2 else "run.start")
        people = {ALICE} if seq % 3 == 0 else ({BOB} if seq % 7 == 0 else set())
        row = IndexRow(
            trail, seq, f"2026-11-01T09:{seq // 60 % 60:02d}:{seq % 60 // 2:02d}.000000Z",
            action, "ok", "run-1", "bot", f"p_{seq:020d}"[-22:], "bot:demo", 1, seq * 10, 10,
            f"{seq:064x}",
        )  # fmt: skip
        made.append(Entry(row, frozenset(people)))
    return made


def expected(rows: list[Entry], keep) -> list[tuple[str, int]]:
    chosen = [e.row for e in rows if keep(e)]
    chosen.sort(key=lambda r: (r.ts, r.trail, r.seq), reverse=True)
    return [(r.trail, r.seq) for r in chosen]


def paged(ledger: Ledger, filters: Filters, size: int) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    offset = 0
    while True:
        page = ledger.audit_index.page(filters, limit=size, offset=offset)
        found += [(r.trail, r.seq) for r in page]
        if len(page) < size:
            return found
        offset += size


@pytest.mark.parametrize("frequent", [10, 10_000], ids=["time-index", "action-index"])
def test_an_action_filter_pages_the_same_rows_newest_first(ledger, monkeypatch, frequent):
    monkeypatch.setattr(auditindex, "FREQUENT", frequent)
    rows = entries("rpa-1", 400) + entries("rpa-2", 300)
    ledger.audit_index.add(rows)
    for prefix in ("item.done", "item.", "item.failed", "run"):
        want = expected(rows, lambda e, p=prefix: (e.row.action or "").startswith(p))
        assert paged(ledger, Filters(action=prefix), 33) == want, prefix
    assert paged(ledger, Filters(action="item.failed", trail="rpa-2"), 5) == expected(
        rows, lambda e: e.row.action == "item.failed" and e.row.trail == "rpa-2"
    )


def test_a_persons_pages_and_stream_follow_the_records_order(ledger):
    rows = entries("rpa-1", 400) + entries("rpa-2", 300)
    ledger.audit_index.add(rows)
    for person in (ALICE, BOB):
        want = expected(rows, lambda e, p=person: p in e.people)
        assert paged(ledger, Filters(person=person), 17) == want
        streamed = [(r.trail, r.seq) for r in ledger.audit_index.stream(Filters(person=person))]
        assert streamed == list(reversed(want))
        by_chain = [
            (r.trail, r.seq)
            for r in ledger.audit_index.stream(Filters(person=person), chain_order=True)
        ]
        assert by_chain == sorted(want)
    assert ledger.audit_index.total(Filters(person=ALICE), cap=10_000) == len(
        expected(rows, lambda e: ALICE in e.people)
    )
