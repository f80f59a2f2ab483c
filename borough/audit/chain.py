"""The hash-chain writer: a loguru sink appending audit records to ``audit.jsonl``.

Several processes (a scheduler's runs, an operator's CLI) append to one chain: each append
takes an exclusive ``flock``, proves the file's end is what the signed head (and the
ledger's anchors) vouch for (:mod:`borough.audit.guard`), writes the record with its MAC,
``fsync``s it and then replaces the signed head file. A record is durable before the
logging call returns, so the audit of an intended change precedes the change.

The file is opened on the first append only, so read-only commands work on a read-only
trail. A write that fails (disk full, quota, read-only, I/O error) is undone back to the
last complete record and raised as an :class:`~borough.errors.AuditError`.

The live file rolls over into a closed segment (:mod:`borough.audit.segments`) when it
reaches ``segment_bytes`` or, with ``segment_daily``, at the first write of a new UTC day.

Proving the end (and, after a write, feeding the index and anchoring) is in
:mod:`borough.audit.chainend`; a record's given fields, checkpoints and a group's log lines
are in :mod:`borough.audit.chainfields`.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from borough.audit import records
from borough.audit.anchors import Anchor
from borough.audit.chainend import AnchorSource, ChainEnd
from borough.audit.chainfields import (
    GIVEN,
    checkpoint_fields,
    is_audit_record,
    json_safe,
    log_lines,
)
from borough.audit.files import (
    HEAD_NAME,
    LOG_NAME,
    PUBLIC_KEY_NAME,
    private_dir,
    private_fd,
    write_all,
    write_failure,
    write_private,
)
from borough.audit.guard import Seen
from borough.audit.head import GENESIS, Point, write_head
from borough.audit.index import IndexFeed, IndexSource
from borough.audit.keys import AuditKeys
from borough.audit.rolling import Roller
from borough.errors import AuditError
from borough.host import host_name

__all__ = [
    "HEAD_NAME",
    "LOG_NAME",
    "PUBLIC_KEY_NAME",
    "AnchorSource",
    "ChainSink",
    "checkpoint_fields",
    "is_audit_record",
]


class ChainSink(ChainEnd):
    """Duck-typed loguru sink: ``logger.add(sink, filter=is_audit_record, catch=False)``.

    Only messages bound with ``audit={...}`` belong here; the fields become the record.
    ``anchors`` (a store, or a callable giving one when first needed) receives a signed
    anchor at every signed record and is checked before the first append.
    """

    def __init__(
        self,
        folder: Path,
        signing_key: Ed25519PrivateKey,
        *,
        checkpoint_every: int = 200,
        redact: Callable[[str], str] = lambda text: text,
        anchors: AnchorSource = None,
        trail_id: str | None = None,
        segment_bytes: int | None = None,
        segment_daily: bool = False,
        index: IndexSource = None,
    ) -> None:
        self.folder = folder
        self.path = folder / LOG_NAME
        self.head_path = folder / HEAD_NAME
        self.keys = AuditKeys.from_signing_key(signing_key)
        self.trail_id = trail_id or host_name()
        self._checkpoint_every = checkpoint_every
        self._redact = redact
        self._anchor_source = anchors
        self._lock = threading.RLock()
        self._fd: int | None = None
        self._fingerprint: tuple[Any, ...] | None = None
        self._end = GENESIS
        self._size = 0
        self._seen: Seen | None = None
        self._anchor_checked = False
        self.last_anchor: Anchor | None = None  #: the last anchor this sink signed
        self.written = 0
        self.last_seq = 0
        self.last_ts: str | None = None  #: time of the last record written or proven
        self.roller = Roller(self, segment_bytes=segment_bytes, daily=segment_daily)
        #: the audit index, fed in batches (with the anchors of what it indexes)
        self.index = IndexFeed(index, record_anchor=self.record_anchor)
        self._group: tuple[int, Point, int] | None = None  #: (size, end, segment) at its start
        self._pending: list[tuple[dict[str, Any], bytes]] = []
        self._owner = 0  #: the thread whose group is open
        self._lines: list[tuple[str, str, dict[str, Any]]] = []  #: the group's log lines
        self._depth = 0

    # loguru calls write(message) with the formatted message; the fields are in extra.
    def write(self, message: Any) -> None:
        fields = message.record["extra"].get("audit")
        if fields is None:
            return
        self.append(dict(fields))

    def append(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Write one record (and a checkpoint when one is due); returns the record."""
        with self.exclusive():
            return self.append_locked([fields])[0]

    def append_grouped(self, fields: dict[str, Any], *, level: str) -> dict[str, Any] | None:
        """Inside this thread's :meth:`group`: write the record (durable at the group's end),
        keep its log line (made of the record as written, so already redacted) for then,
        and return it; otherwise None (the caller logs it through loguru)."""
        if self._group is None or self._owner != threading.get_ident():
            return None
        record = self.write_grouped(fields)  # the group holds the lock and proved the end
        self._lines.append((level, records.log_text(record), record))
        return record

    def write_grouped(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Inside a :meth:`group` (held by this thread): make one record (and a checkpoint
        when one is due) now; written and durable at the group's end."""
        assert self._group is not None, "only inside a group"
        written = self._write(fields)
        self._pending.append(written)
        record = written[0]
        seq = record["seq"]
        if (seq + 1) % self._checkpoint_every == 0 and (
            record["action"] not in records.SIGNED_ACTIONS
        ):
            self._pending.append(self._write(checkpoint_fields(fields, reason="every-n")))
            self.written += 1
        self.written += 1
        self.last_seq = seq
        return record

    def close(self) -> None:
        self.index.close()
        self._close_fd()

    def _close_fd(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    # -- locking (the end is proven in borough.audit.chainend) ------------------------------
    @contextmanager
    def exclusive(self) -> Iterator[ChainSink]:
        """Hold the trail's exclusive lock (threads and processes) and open it if needed;
        re-entrant within a thread (a group's appends)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._open()
            while True:
                fcntl.flock(self.fd, fcntl.LOCK_EX)
                try:
                    current = os.stat(self.path).st_ino
                except FileNotFoundError:
                    current = -1
                if current == os.fstat(self.fd).st_ino:
                    break
                fcntl.flock(self.fd, fcntl.LOCK_UN)  # replaced (a purge elsewhere): reopen
                self._close_fd()
                self._open()
            self._depth = 1
            try:
                yield self
            finally:
                self._depth = 0
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _open(self) -> None:
        if self._fd is not None:
            return
        try:
            private_dir(self.folder)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            private_fd(self._fd)
            self._write_public_key()
        except OSError as exc:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            raise AuditError(write_failure(exc, self.path)) from None

    # -- writing -----------------------------------------------------------------------------
    def append_locked(
        self,
        batch: list[dict[str, Any]],
        *,
        allow_checkpoint: bool = True,
        proven: tuple[Point, int] | None = None,
    ) -> list[dict[str, Any]]:
        """Append ``batch`` after proving the end; all or nothing (undone on a write error).

        ``proven`` (end, file size) is for repair and restart, which prove the end themselves.
        """
        if self._group is not None:
            return self.write_batch(batch, allow_checkpoint=allow_checkpoint)
        if proven is None:
            self.prove_end(context=batch[0])
            self.roller.before(batch[0])
        else:
            self._end, self._size = proven
            self._seen = None
        written = self.write_batch(batch, allow_checkpoint=allow_checkpoint)
        self.roller.after(batch[-1])
        return written

    def write_batch(
        self, batch: list[dict[str, Any]], *, allow_checkpoint: bool = True
    ) -> list[dict[str, Any]]:
        """Write, fsync and sign ``batch`` after the proven end (no roll-over); inside a
        :meth:`group`, make it now and leave writing, fsync and signature to the group's
        end."""
        if self._group is not None and allow_checkpoint and len(batch) == 1:
            return [self.write_grouped(batch[0])]
        if self._group is not None:
            written = self._write_lines(batch, allow_checkpoint)
            self._pending += written
            self._count(written)
            return [record for record, _ in written]
        start_size, start_end = self._size, self._end
        segment = self.roller.live_segment() if start_size else self._end.seq + 1
        try:
            written = self._write_lines(batch, allow_checkpoint)
            os.fsync(self.fd)
            write_head(self.head_path, self._end, self.keys)
        except OSError as exc:
            self._undo(start_size, start_end)
            raise AuditError(write_failure(exc, self.path)) from None
        self._committed(written, segment, start_size)
        self._count(written)
        return [record for record, _ in written]

    def _count(self, written: list[tuple[dict[str, Any], bytes]]) -> None:
        self.written += len(written)
        self.last_seq = written[0][0]["seq"]

    def _write_lines(
        self, batch: list[dict[str, Any]], allow_checkpoint: bool
    ) -> list[tuple[dict[str, Any], bytes]]:
        written = [self._write(fields) for fields in batch]
        last = written[-1][0]
        due = (last["seq"] + 1) % self._checkpoint_every == 0
        if allow_checkpoint and due and last.get("action") not in records.SIGNED_ACTIONS:
            written.append(self._write(checkpoint_fields(batch[-1], reason="every-n")))
        return written

    def _committed(
        self, written: list[tuple[dict[str, Any], bytes]], segment: int, start_size: int
    ) -> None:
        if not start_size:
            self.roller.started(written[0][0])
        self._after_write(written, segment, start_size)

    def _mend_torn(self, context: dict[str, Any]) -> None:
        from borough.audit.repair import mend_torn_end  # repair builds on this module

        mend_torn_end(self, context)

    @contextmanager
    def group(self, context: Mapping[str, Any] | None = None) -> Iterator[ChainSink]:
        """Group commit: records appended inside are made at once (their seq known) and
        written and made durable together when the group ends: one write, one fsync and
        one signed head. A writer killed inside a group leaves none of its records, or,
        killed during that write, some and a torn line the next writer moves aside.

        Whatever a record of the group gates (an item's ``process()``) must wait until the
        group has ended. A write that fails undoes the whole group. Groups nest (the outer
        one commits). ``context``: the run context of a repair the group's start may
        record (see :meth:`prove_end`).
        """
        with self.exclusive():
            if self._group is not None:
                yield self
                return
            self.prove_end(context=context)
            self.roller.before({})
            start_size, start_end = self._size, self._end
            segment = self.roller.live_segment() if start_size else start_end.seq + 1
            self._group, self._pending = (start_size, start_end, segment), []
            self._owner, self._lines = threading.get_ident(), []
            try:
                yield self
            finally:
                group, pending, lines = self._group, self._pending, self._lines
                self._group, self._pending, self._lines, self._owner = None, [], [], 0
                if group is not None and pending:
                    self._commit_group(group, pending)
                    log_lines(lines)

    def _commit_group(
        self, group: tuple[int, Point, int], pending: list[tuple[dict[str, Any], bytes]]
    ) -> None:
        start_size, start_end, segment = group
        try:
            write_all(self.fd, b"".join([line for _, line in pending]))
            os.fsync(self.fd)
            write_head(self.head_path, self._end, self.keys)
        except OSError as exc:
            self._undo(start_size, start_end)
            raise AuditError(write_failure(exc, self.path)) from None
        self._committed(pending, segment, start_size)
        self.roller.after(pending[-1][0])

    def _write(self, fields: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        get = fields.get
        record: dict[str, Any] = {key: get(key) for key in GIVEN}
        for key in records.REDACTED:
            value = record[key]
            if value is not None:
                record[key] = (
                    self._redact(value) if type(value) is str else self._redact_value(value)
                )
        record["schema"] = records.SCHEMA
        record["seq"] = self._end.seq + 1
        record["ts"] = get("ts") or records.utc_now()
        record["prev_hash"] = self._end.hash
        if record["action"] in records.SIGNED_ACTIONS:
            record["signature"] = self.keys.sign(records.signed_payload(record))
        try:
            record["hash"], record["mac"], line = records.chain_line(record, self.keys.mac)
        except ValueError:  # NaN or Infinity somewhere: JSON has none, so they become text
            record = json_safe(record)
            record["hash"], record["mac"], line = records.chain_line(record, self.keys.mac)
        if self._group is None:  # a group's lines are written together at its end
            write_all(self.fd, line)
        self._size += len(line)
        self._end = Point(record["seq"], record["hash"])
        return record, line

    def _undo(self, size: int, end: Point) -> None:
        """Cut the file back to ``size`` (its last complete record before this append)."""
        try:
            os.ftruncate(self.fd, size)
            os.fsync(self.fd)
        except OSError as exc:
            raise AuditError(
                f"{write_failure(exc, self.path)}; the partial record could not be removed "
                "either: run `borough audit repair` once the disk is usable"
            ) from None
        self._size, self._end = size, end
        self._fingerprint = None

    def resign_head(self) -> None:
        """Sign the current end (after a purge or repair rewrote the file)."""
        write_head(self.head_path, self._end, self.keys)
        self._fingerprint = self._stat()

    def reset_after_rewrite(self, size: int, end: Point) -> None:
        self._size, self._end = size, end
        self._seen = None
        self._fingerprint = None
        self.roller.forget()

    @property
    def size(self) -> int:
        """The live file's size as proven (under :meth:`exclusive`)."""
        return self._size

    def reopen(self) -> None:
        """The file was replaced under the lock (purge, repair): hold the new one instead."""
        old = self._fd
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        if old is not None:
            fcntl.flock(old, fcntl.LOCK_UN)
            os.close(old)

    def _redact_value(self, value: Any) -> Any:
        if type(value) is str or isinstance(value, str):
            return self._redact(value)
        if isinstance(value, dict):
            return {key: self._redact_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._redact_value(item) for item in value]
        return value

    def _write_public_key(self) -> None:
        pem = self.keys.public_pem()
        target = self.folder / PUBLIC_KEY_NAME
        try:
            current = target.read_bytes()
        except FileNotFoundError:
            current = None
        if current != pem:
            write_private(target, pem)
