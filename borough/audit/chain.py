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
"""

from __future__ import annotations

import fcntl
import math
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from loguru import logger

from borough.audit import records
from borough.audit.anchors import Anchor, AnchorKind, AnchorStore
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
from borough.audit.guard import Seen, prove_tail
from borough.audit.head import GENESIS, HeadUnreadable, Point, read_head, write_head
from borough.audit.index import IndexFeed, IndexSource
from borough.audit.indexrows import entry_of
from borough.audit.keys import AuditKeys
from borough.audit.rolling import Roller
from borough.errors import AuditError
from borough.host import host_name

__all__ = ["HEAD_NAME", "LOG_NAME", "PUBLIC_KEY_NAME", "ChainSink", "checkpoint_fields"]

AnchorSource = AnchorStore | Callable[[], AnchorStore | None] | None


class ChainSink:
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
        self.index = IndexFeed(index)  #: the audit index, fed in batches
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
        record = self.write_batch([fields])[0]  # the group holds the lock and proved the end
        self._lines.append((level, records.log_text(record), record))
        return record

    def close(self) -> None:
        self.index.close()
        self._close_fd()

    def _close_fd(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    @property
    def end(self) -> Point:
        """The last record written or proven (under :meth:`exclusive`)."""
        return self._end

    @property
    def fd(self) -> int:
        assert self._fd is not None, "only under exclusive()"
        return self._fd

    # -- locking and the proven end ----------------------------------------------------------
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

    def prove_end(self, *, force: bool = False) -> Point:
        """Check the file's end (cheap when nothing changed since this sink last looked)."""
        fingerprint = self._stat()
        if fingerprint == self._fingerprint and not force:
            return self._end
        inode_changed = self._seen is not None and fingerprint[0] != self._seen.inode
        if inode_changed and self._starts_with_restart():
            self._seen = None  # `audit restart` elsewhere: a new chain (the ledger's anchors hold)
        anchor = None
        if not self._anchor_checked or inode_changed or force:
            anchor = self.latest_anchor()
        try:
            head = read_head(self.head_path)
        except HeadUnreadable as why:
            raise AuditError(
                f"{self.head_path} is damaged ({why}), so the end of the audit trail cannot be "
                "proven; nothing more is written. Run `borough audit verify`, then "
                "`borough audit repair`"
            ) from None
        except OSError as exc:
            raise AuditError(f"cannot read {self.head_path}: {exc.strerror}") from None
        if head is not None and not head.signature_ok(self.keys):
            raise AuditError(
                f"{self.head_path} is not signed by this installation's key (it was replaced, or "
                "copied from another installation); nothing more is written. Run "
                "`borough audit verify`"
            )
        if self._fingerprint is None or fingerprint[0] != self._fingerprint[0]:
            self.roller.forget()  # a new live file (a roll-over, a purge): list segments again
        tail = prove_tail(
            self.fd,
            fingerprint[1],
            head,
            self.keys,
            path=self.path,
            anchor=anchor,
            seen=None if inode_changed else self._seen,
            seen_seq=self._seen.seq if self._seen else 0,
            closed=self.roller.closed(),
        )
        self._end = tail.point
        self.last_ts = str(tail.record["ts"]) if tail.record else None
        self.roller.saw(tail)
        self._size = fingerprint[1]
        self._anchor_checked = True
        self._fingerprint = fingerprint
        return self._end

    def _starts_with_restart(self) -> bool:
        first = os.pread(self.fd, 65536, 0).split(b"\n", 1)
        if len(first) < 2:
            return False
        try:
            record = records.parse_line(first[0])
        except records.MalformedRecord:
            return False
        return (
            record["seq"] == 1
            and record.get("action") == records.RESTARTED
            and self.keys.signature_ok(record.get("signature"), records.signed_payload(record))
        )

    def _stat(self) -> tuple[Any, ...]:
        st = os.fstat(self.fd)
        try:
            hs = os.stat(self.head_path)
            head: tuple[int, int, int] | None = (hs.st_ino, hs.st_size, hs.st_ctime_ns)
        except FileNotFoundError:
            head = None
        return (st.st_ino, st.st_size, st.st_ctime_ns, head)

    def latest_anchor(self) -> Anchor | None:
        store = self.anchor_store()
        if store is None:
            return None
        try:
            return store.latest(self.trail_id)
        except Exception as exc:  # the ledger may be busy or down: do not stop auditing
            logger.bind(action="audit.anchor_unreadable").warning(
                "cannot read the audit anchors from the ledger ({}); the trail's end is "
                "checked against its signed head only",
                exc,
            )
            return None

    def anchor_store(self) -> AnchorStore | None:
        source = self._anchor_source
        if source is None:
            return None
        if not isinstance(source, AnchorStore):
            source = source()
            self._anchor_source = source
        return source

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
            self.prove_end()
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
        :meth:`group`, write it now and leave fsync and signature to the group's end."""
        if self._group is not None:
            try:
                written = self._write_lines(batch, allow_checkpoint)
            except OSError as exc:
                start_size, start_end, _ = self._group
                self._group = None
                self._undo(start_size, start_end)
                raise AuditError(write_failure(exc, self.path)) from None
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

    @contextmanager
    def group(self) -> Iterator[ChainSink]:
        """Group commit: records appended inside are written at once (their seq known) and
        made durable together when the group ends, with one fsync and one signed head.

        Whatever a record of the group gates (an item's ``process()``) must wait until the
        group has ended. A write that fails undoes the whole group. Groups nest (the outer
        one commits).
        """
        with self.exclusive():
            if self._group is not None:
                yield self
                return
            self.prove_end()
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
                    _log_lines(lines)

    def _commit_group(
        self, group: tuple[int, Point, int], pending: list[tuple[dict[str, Any], bytes]]
    ) -> None:
        start_size, start_end, segment = group
        try:
            os.fsync(self.fd)
            write_head(self.head_path, self._end, self.keys)
        except OSError as exc:
            self._undo(start_size, start_end)
            raise AuditError(write_failure(exc, self.path)) from None
        self._committed(pending, segment, start_size)
        self.roller.after(pending[-1][0])

    def _write(self, fields: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        get = fields.get
        record: dict[str, Any] = {key: get(key) for key in _GIVEN}
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
            record = _json_safe(record)
            record["hash"], record["mac"], line = records.chain_line(record, self.keys.mac)
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

    def _after_write(
        self, written: list[tuple[dict[str, Any], bytes]], segment: int, offset: int
    ) -> None:
        entries = []
        for written_record, written_line in written:
            entries.append(
                entry_of(
                    self.trail_id,
                    written_record,
                    segment=segment,
                    offset=offset,
                    length=len(written_line),
                )
            )
            offset += len(written_line)
        record, line = written[-1]
        self._fingerprint = self._stat()
        self._seen = Seen(record["seq"], line, self._size, self._fingerprint[0])
        self.last_ts = record["ts"]
        signed = [r for r, _ in written if r.get("action") in records.SIGNED_ACTIONS]
        # Routine checkpoints wait for the next batch of index rows (readers add what the
        # index lacks from the files first); a run's end, a purge or a repair is sent now.
        routine = all(r["detail"] == _ROUTINE for r in signed)
        self.index.add(entries, urgent=not routine)
        # The latest signed point is what the ledger's anchor must vouch for (anchors only
        # grow, and a trail shorter than the latest is refused): a group's earlier
        # checkpoints need none of their own. A restart starts a chain: always anchored.
        for record in signed:
            if record.get("action") == records.RESTARTED or record is signed[-1]:
                kind: AnchorKind = (
                    "restart" if record.get("action") == records.RESTARTED else "checkpoint"
                )
                self.anchor(Point(record["seq"], record["hash"]), record["ts"], kind)

    def anchor(self, point: Point, ts: str, kind: AnchorKind = "checkpoint") -> Anchor:
        """Sign ``point`` and record it in the anchor store (a warning if it cannot)."""
        anchor = Anchor(self.trail_id, point.seq, point.hash, ts, kind).signed(self.keys)
        self.last_anchor = anchor
        store = self.anchor_store()
        if store is not None:
            try:
                store.record(anchor)
            except Exception as exc:
                logger.bind(action="audit.anchor_failed").warning(
                    "could not record the audit anchor for record {} in the ledger: {}",
                    point.seq,
                    exc,
                )
        return anchor

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
        if isinstance(value, str):
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


def _log_lines(lines: list[tuple[str, str, dict[str, Any]]]) -> None:
    """A group's log lines, one loguru message per run of lines with the same run and level
    (a line a record). The lines are made of written records, which the writer redacted:
    ``redacted=True`` tells the text sinks not to redact them again."""
    start = 0
    for end in range(1, len(lines) + 1):
        same_level = end < len(lines) and lines[end][0] == lines[start][0]
        if same_level and lines[end][2].get("run_id") == lines[start][2].get("run_id"):
            continue
        level, _, first = lines[start]
        text = "\n".join(line for _, line, _ in lines[start:end])
        action = first.get("action") or "-"
        logger.bind(action=action, run_id=first.get("run_id"), redacted=True).log(level, text)
        start = end


_ROUTINE = {"reason": "every-n"}  #: the detail of a checkpoint signed every N records

#: What a caller's fields give a record (the writer sets the chain's own fields).
_GIVEN = tuple(
    key
    for key in records.FIELDS
    if key not in {"schema", "seq", "ts", "prev_hash", "hash", "signature"}
)


def _json_safe(value: Any) -> Any:
    """``value`` with NaN/Infinity as text (JSON has none; canonical records refuse them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def checkpoint_fields(context: dict[str, Any], *, reason: str) -> dict[str, Any]:
    """Fields of a signed checkpoint carrying the run context of ``context``."""
    return {
        "host": context.get("host"),
        "run_id": context.get("run_id"),
        "bot": context.get("bot"),
        "bot_version": context.get("bot_version"),
        "actor": "borough",
        "action": records.CHECKPOINT,
        "outcome": "ok",
        "detail": {"reason": reason},
    }


def is_audit_record(record: Any) -> bool:
    """loguru filter for :class:`ChainSink`."""
    return "audit" in record["extra"]
