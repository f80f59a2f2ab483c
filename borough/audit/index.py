"""Keeping the audit index beside the chain: fed by the writer, caught up from the files.

The writer hands each record it made durable to an :class:`IndexFeed`, which sends them to
the index in batches (a full batch, a signed record, half a second, or closing the trail),
so indexing costs one transaction per batch rather than one per record. The index may
therefore lag the files a little, and a writer that died may never have sent its last
rows: :func:`catch_up` reads the local trail from the last indexed record on and adds what
is missing, and :func:`reindex` rebuilds a trail's rows from its files. Readers catch up
before they query, so what they show includes every complete record.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from borough.audit import records
from borough.audit.anchors import Anchor
from borough.audit.files import LOG_NAME, complete_end
from borough.audit.indexrows import Entry, IndexStore, Mark, entry_of
from borough.audit.segments import TrailFile, first_line, trail_files

FLUSH_ROWS = 512  #: send a batch at this many rows
FLUSH_SECONDS = 0.5  #: or when the oldest waiting row is this old
MAX_WAITING = 100_000  #: rows kept while the database is unreachable (catch_up fills the rest)
_BATCH = 2000

IndexSource = IndexStore | Callable[[], IndexStore | None] | None


class IndexFeed:
    """The writer's side: rows waiting to be sent, sent in batches (thread-safe), and the
    ledger anchors of the records they index, recorded after them in order.

    A routine checkpoint's anchor is recorded at once by the feed's thread (the writer does
    not wait for the ledger); any other (a run's end, a purge, a repair, a restart) before
    :meth:`add` returns, as is every anchor when there is no index to feed.
    """

    def __init__(
        self, source: IndexSource, *, record_anchor: Callable[[Anchor], None] | None = None
    ) -> None:
        self._source = source
        self._record_anchor = record_anchor
        self._waiting: list[Entry] = []
        self._anchors: list[Anchor] = []  #: signed, to record after the rows before them
        self._since = 0.0
        self._lock = threading.Lock()
        self._sending = threading.Lock()  #: one batch at a time, in order
        #: held while anchors are taken and recorded, so they are recorded in chain order
        self._anchoring = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None  #: the feed's thread, started when needed
        self._due: float | None = None  #: when the feed's thread sends next (monotonic)
        self._generation = 0  #: a thread of an earlier one (before close) stops
        self._warned = False

    def store(self) -> IndexStore | None:
        source = self._source
        if source is None or isinstance(source, IndexStore):
            return source
        resolved = source()
        self._source = resolved
        return resolved

    def add(
        self, entries: list[Entry], *, urgent: bool = False, anchors: Sequence[Anchor] = ()
    ) -> None:
        if self._source is None:
            self._record(list(anchors))
            return
        with self._lock:
            if not self._waiting:
                self._since = time.monotonic()
            self._waiting.extend(entries)
            if anchors:  # the latest checkpoint vouches for the ones before it
                self._anchors = [a for a in self._anchors if a.kind == "restart"]
                self._anchors += anchors
            due = (
                urgent
                or bool(anchors)
                or len(self._waiting) >= FLUSH_ROWS
                or time.monotonic() - self._since >= FLUSH_SECONDS
            )
        if due and self._joins_a_write():
            self._send(wait=False)  # as part of this thread's ledger write (one commit)
        elif urgent:
            self.flush()
        elif due:  # a full batch or an anchor: sent by the feed's thread, the writer goes on
            self._arm(0.0)
        else:
            self._arm(FLUSH_SECONDS)

    def _arm(self, delay: float) -> None:
        """Have the feed's thread send what is waiting in ``delay`` seconds (or sooner)."""
        with self._lock:
            due = time.monotonic() + delay
            if self._due is None or due < self._due:
                self._due = due
                self._wake.notify()
            thread = self._thread
            if thread is None or not thread.is_alive():  # first use, or after fork or close
                self._thread = threading.Thread(
                    target=self._run, args=(self._generation,), name="audit-index", daemon=True
                )
                self._thread.start()

    def _run(self, generation: int) -> None:
        """The feed's thread: one until the feed is closed (not a thread a batch)."""
        while True:
            with self._lock:
                while generation == self._generation:
                    now = time.monotonic()
                    if self._due is not None and self._due <= now:
                        break
                    self._wake.wait(None if self._due is None else self._due - now)
                if generation != self._generation:
                    return
                self._due = None
            self.flush()

    def _joins_a_write(self) -> bool:
        """Whether this thread records a ledger write the rows would join."""
        joins = getattr(self.store(), "joins_a_write", None)
        return bool(joins and joins())

    def flush(self) -> None:
        """Send the rows (and record the anchors) waiting now (after any batch the feed's
        thread is sending)."""
        with self._sending:
            self._send()

    def _send(self, *, wait: bool = True) -> None:
        with self._lock:
            waiting, self._waiting = self._waiting, []
        if waiting:
            self._send_rows(waiting)
        if not self._anchoring.acquire(blocking=wait):
            self._arm(0.0)  # the feed's thread is recording one: it records these next
            return
        try:
            with self._lock:
                anchors, self._anchors = self._anchors, []
            self._record(anchors)
        finally:
            self._anchoring.release()

    def _record(self, anchors: list[Anchor]) -> None:
        if self._record_anchor is not None:
            for anchor in anchors:
                self._record_anchor(anchor)

    def _send_rows(self, waiting: list[Entry]) -> None:
        try:
            store = self.store()
            if store is not None:
                store.add(waiting)
            self._warned = False
        except Exception as exc:  # the index is derived data: never stop the trail for it
            with self._lock:
                self._waiting[:0] = waiting[-MAX_WAITING:]
                del self._waiting[MAX_WAITING:]
            if not self._warned:
                self._warned = True
                logger.bind(action="audit.index_failed").warning(
                    "cannot update the audit index ({}); the trail is unaffected, and readers "
                    "add the missing rows from its files (`borough audit reindex` rebuilds it)",
                    exc,
                )

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._generation += 1
            self._due = None
            self._wake.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self.flush()


# -- from the files ------------------------------------------------------------------------
@dataclass(frozen=True)
class CaughtUp:
    added: int
    rebuilt: bool = False
    torn_bytes: int = 0  #: the live file ends with an incomplete record of this size


def torn_bytes(folder: Path) -> int:
    """Bytes after the live file's last complete record (a writer stopped mid-write)."""
    try:
        fd = os.open(folder / LOG_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return 0
    try:
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return 0
        return size - complete_end(fd, size)
    finally:
        os.close(fd)


def catch_up(store: IndexStore, trail: str, folder: Path) -> CaughtUp:
    """Index the complete records of ``trail`` (its files in ``folder``) not indexed yet.

    The index keeps a mark: every record up to it is indexed. Writers send their rows in
    batches, one process at a time, so rows past the mark may have gaps (a writer killed
    before its batch was sent): when the rows past the mark are complete, the mark moves
    to the newest row; otherwise the files are read from the mark on. When the mark's
    record is no longer where it was (the files were replaced: a restart, a restore, a
    purge of a trail without segments), the trail is indexed again from its files.
    """
    files = trail_files(folder)
    mark = store.mark(trail)
    last = store.last(trail)
    if last is not None and last.seq > (mark.seq if mark else 0):
        complete = store.count_after(trail, mark.seq if mark else 0) == last.seq - (
            mark.seq if mark else 0
        )
        if complete and (mark is not None or _starts_at_one(files)):
            mark = Mark(last.seq, last.hash, last.segment, last.offset + last.length)
    torn = torn_bytes(folder)
    if mark is None:
        return CaughtUp(_index_from(store, trail, files, 0, 0), torn_bytes=torn)
    start = _resume_point(files, mark)
    if start is None:
        return reindex(store, trail, folder)
    return CaughtUp(_index_from(store, trail, files, *start), torn_bytes=torn)


def _starts_at_one(files: list[TrailFile]) -> bool:
    """Without a mark, rows 1..last are all the rows only if the trail starts at record 1."""
    return bool(files) and segment_of(files[0]) == 1


def reindex(store: IndexStore, trail: str, folder: Path) -> CaughtUp:
    """Rebuild ``trail``'s rows from its files."""
    store.forget(trail)
    added = _index_from(store, trail, trail_files(folder), 0, 0)
    return CaughtUp(added, rebuilt=True, torn_bytes=torn_bytes(folder))


def _resume_point(files: list[TrailFile], mark: Mark) -> tuple[int, int] | None:
    """(file number, byte offset) just after the mark's record, if it is still there."""
    for number, file in enumerate(files):
        if segment_of(file) != mark.segment:
            continue
        try:
            with file.path.open("rb") as handle:
                handle.seek(0, 2)
                if handle.tell() < mark.end:
                    return None
                back = min(mark.end, 1 << 20)
                handle.seek(mark.end - back)
                data = handle.read(back)
        except OSError:
            return None
        line = data[data.rfind(b"\n", 0, len(data) - 1) + 1 :]
        found = records.quick(line)
        digest = found.hash if found else _strict_hash(line)
        return (number, mark.end) if digest == mark.hash else None
    return None


def _strict_hash(raw: bytes) -> str | None:
    try:
        return str(records.parse_line(raw)["hash"])
    except records.MalformedRecord:
        return None


def segment_of(file: TrailFile) -> int | None:
    """The segment number of a file: a closed segment's name, the live file's first seq."""
    if file.first_seq is not None:
        return file.first_seq
    line = first_line(file.path)
    if line is None:
        return None
    found = records.quick(line)
    if found is not None:
        return found.seq
    try:
        return int(json.loads(line)["seq"])
    except (ValueError, KeyError, TypeError):
        return None


def _index_from(
    store: IndexStore, trail: str, files: list[TrailFile], number: int, offset: int
) -> int:
    """Index every complete record from ``offset`` of file ``number`` on, moving the mark
    after each batch."""
    added = 0
    batch: list[Entry] = []

    def send() -> None:
        nonlocal added, batch
        if not batch:
            return
        store.add(batch)
        last = batch[-1].row
        store.set_mark(trail, Mark(last.seq, last.hash, last.segment, last.offset + last.length))
        added += len(batch)
        batch = []

    for index in range(number, len(files)):
        file = files[index]
        segment = segment_of(file)
        if segment is None:
            continue
        for entry in entries_in(trail, file.path, segment, offset if index == number else 0):
            batch.append(entry)
            if len(batch) >= _BATCH:
                send()
    send()
    return added


def entries_in(trail: str, path: Path, segment: int, offset: int) -> Iterator[Entry]:
    """Index entries of the complete records in ``path`` from ``offset`` (lines that are not
    records are skipped: ``audit verify`` names them)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        handle.seek(offset)
        for raw in handle:
            if not raw.endswith(b"\n"):
                return
            try:
                record: Any = json.loads(raw)
                yield entry_of(trail, record, segment=segment, offset=offset, length=len(raw))
            except (ValueError, KeyError, TypeError):
                pass
            offset += len(raw)
