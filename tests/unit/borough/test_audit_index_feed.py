"""The writer's index feed: a full batch is sent by the feed's own thread (the writer goes
on), except inside a ledger write, where the rows join that write; flushing or closing
waits for a batch being sent, so a closed trail's index holds every row sent to it.

The feed also records the ledger anchors of the records it indexes, after their rows and in
chain order: a routine checkpoint's by its own thread at once (the writer does not wait for
the ledger; one superseded by a newer is never recorded), a run end's before ``add``
returns, and every one at once when there is no index."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from borough.audit import index as index_module
from borough.audit.anchors import Anchor, AnchorKind
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
    _wait_for(lambda: store.batches)
    assert store.batches[0][0] != threading.get_ident()
    feed.add(_entries(13, 3))
    feed.close()
    seqs = sorted(seq for _, batch in store.batches for seq in batch)
    assert seqs == list(range(1, 16))


def _wait_for(condition: Callable[[], object]) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


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


def _anchor(seq: int, kind: AnchorKind = "checkpoint") -> Anchor:
    return Anchor("t", seq, "h" * 64, "ts", kind, "sig")


class Recorder:
    """An anchor store that takes a moment, and notes when and where it recorded each."""

    def __init__(self, store: SlowStore) -> None:
        self.store = store
        self.recorded: list[tuple[int, int, int]] = []  #: (thread, seq, batches sent before)

    def __call__(self, anchor: Anchor) -> None:
        time.sleep(0.05)
        self.recorded.append((threading.get_ident(), anchor.seq, len(self.store.batches)))


def test_a_routine_anchor_is_recorded_by_the_feed_after_its_rows():
    store = SlowStore()
    recorder = Recorder(store)
    feed = IndexFeed(store, record_anchor=recorder)
    feed.add(_entries(1, 5), anchors=[_anchor(5)])
    assert recorder.recorded == [], "the writer does not wait for the ledger's anchor"
    _wait_for(lambda: recorder.recorded)
    ((thread, seq, rows_sent_before),) = recorder.recorded
    assert seq == 5 and thread != threading.get_ident()
    assert rows_sent_before == 1, "its rows are sent first, without waiting half a second"
    feed.close()


def test_anchors_are_recorded_in_chain_order_and_a_run_end_before_add_returns():
    store = SlowStore()
    recorder = Recorder(store)
    feed = IndexFeed(store, record_anchor=recorder)
    feed.add(_entries(1, 5), anchors=[_anchor(5)])
    feed.add(_entries(6, 5), anchors=[_anchor(10)])
    feed.add(_entries(11, 2), urgent=True, anchors=[_anchor(12)])
    seqs = [seq for _, seq, _ in recorder.recorded]
    assert seqs[-1] == 12, "a run end's anchor is in the ledger when its group returns"
    assert seqs == sorted(seqs) and set(seqs) <= {5, 10, 12}
    feed.add(_entries(13, 1), anchors=[_anchor(1, "restart"), _anchor(13)])
    feed.close()
    assert [seq for _, seq, _ in recorder.recorded][len(seqs) :] == [1, 13]


def test_without_an_index_anchors_are_recorded_at_once():
    recorded: list[int] = []
    feed = IndexFeed(None, record_anchor=lambda anchor: recorded.append(anchor.seq))
    feed.add(_entries(1, 5), anchors=[_anchor(5)])
    assert recorded == [5]


def test_one_feed_thread_sends_every_batch_until_closed(monkeypatch):
    monkeypatch.setattr(index_module, "FLUSH_ROWS", 2)
    store = SlowStore()
    feed = IndexFeed(store)
    for first in range(1, 11, 2):
        feed.add(_entries(first, 2))
        _wait_for(lambda first=first: any(first in batch for _, batch in store.batches))
    assert len({thread for thread, _ in store.batches}) == 1
    assert store.batches[0][0] != threading.get_ident()
    before = threading.active_count()
    feed.close()
    assert threading.active_count() == before - 1, "closing the feed ends its thread"
    feed.add(_entries(11, 2))
    _wait_for(lambda: len(store.batches) == 6)
    assert store.batches[-1][1] == [11, 12], "a feed used after closing starts again"
    feed.close()
