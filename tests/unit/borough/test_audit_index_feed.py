"""The writer's index feed: a full batch is sent by the feed's own thread (the writer goes
on), except inside a ledger write, where the rows join that write; flushing or closing
waits for a batch being sent, so a closed trail's index holds every row sent to it."""

from __future__ import annotations

import threading
import time

from borough.audit import index as index_module
from borough.audit.index import IndexFeed
from borough.audit.indexrows import Entry, IndexRow


def _entries(first: int, count: int) -> list[Entry]:
    return [
        Entry(
            IndexRow("t", seq, "ts", "a", "ok", None, None, None, None, 1, 0, 1, "h"), frozenset()
        )
        for seq in range(first, first + count)
    ]


class SlowStore:
    """Records which thread added which rows; each batch takes a moment."""

    def __init__(self, *, in_write: bool = False) -> None:
        self.batches: list[tuple[int, list[int]]] = []
        self.in_write = in_write

    def joins_a_write(self) -> bool:
        return self.in_write

    def __getattr__(self, name: str) -> object:  # the rest of IndexStore, unused here
        return lambda *args, **kwargs: None

    def add(self, entries: list[Entry]) -> None:
        time.sleep(0.05)
        self.batches.append((threading.get_ident(), [e.row.seq for e in entries]))


def test_a_full_batch_is_sent_by_the_feed_and_close_waits_for_it(monkeypatch):
    monkeypatch.setattr(index_module, "FLUSH_ROWS", 10)
    store = SlowStore()
    feed = IndexFeed(store)
    feed.add(_entries(1, 12))
    assert store.batches == [], "the writer does not wait for the index"
    feed.add(_entries(13, 3))
    feed.close()
    seqs = sorted(seq for _, batch in store.batches for seq in batch)
    assert seqs == list(range(1, 16))
    assert threading.get_ident() not in {thread for thread, _ in store.batches[:1]}


def test_inside_a_ledger_write_the_rows_join_it(monkeypatch):
    monkeypatch.setattr(index_module, "FLUSH_ROWS", 10)
    store = SlowStore(in_write=True)
    feed = IndexFeed(store)
    feed.add(_entries(1, 12))
    assert store.batches == [(threading.get_ident(), list(range(1, 13)))]
    feed.close()


def test_urgent_rows_are_sent_at_once():
    store = SlowStore()
    feed = IndexFeed(store)
    feed.add(_entries(1, 2), urgent=True)
    assert store.batches == [(threading.get_ident(), [1, 2])]
    feed.close()
