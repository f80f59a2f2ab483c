"""Rolling the live file over into a closed segment (see :mod:`borough.audit.segments`).

Under the writer's lock: append the signed checkpoint that closes the segment (first and
last record, byte count, SHA-256 of the bytes before it, next record and file), rename the
live file to ``segments/<first seq>.jsonl``, flush both folders, and open a new live file.
A writer stopped between the checkpoint and the rename leaves a live file that ends with a
closing checkpoint: the next append finishes the roll-over before writing anything.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from borough.audit import records
from borough.audit.files import private_dir, write_failure
from borough.audit.guard import Tail
from borough.audit.segments import (
    SEGMENT_CLOSED,
    TrailFile,
    closed_segments,
    closing_detail,
    segment_name,
)
from borough.errors import AuditError

if TYPE_CHECKING:
    from borough.audit.chain import ChainSink

_BLOCK = 1 << 20


class Roller:
    """Decides when the live file of ``sink`` rolls over, and does it."""

    def __init__(self, sink: ChainSink, *, segment_bytes: int | None, daily: bool) -> None:
        self._sink = sink
        self._bytes = segment_bytes
        self._daily = daily
        self._closed: list[TrailFile] | None = None
        self._first: tuple[int, str] | None = None  #: the live file's first record (seq, ts)
        self._unfinished = False  #: the live file ends with a closing checkpoint

    def forget(self) -> None:
        """The files changed under this writer (another process, a purge): look again."""
        self._closed, self._first, self._unfinished = None, None, False

    def closed(self) -> list[TrailFile]:
        if self._closed is None:
            self._closed = closed_segments(self._sink.folder)
        return self._closed

    def saw(self, tail: Tail) -> None:
        """The proven end: an unfinished roll-over is finished before the next write."""
        self._unfinished = tail.in_live and closing_detail(tail.record) is not None

    def before(self, fields: dict[str, Any]) -> None:
        """Before a write: finish a roll-over, or close yesterday's segment."""
        if self._unfinished:
            self._finish()
        elif self._daily and self._sink.size > 0:
            day = str(fields.get("ts") or records.utc_now())[:10]
            if self._live_first()[1][:10] < day:
                self.close(fields)

    def after(self, fields: dict[str, Any]) -> None:
        if self._bytes is not None and self._sink.size >= self._bytes:
            self.close(fields)

    def close(self, context: dict[str, Any]) -> None:
        """Close the live segment now (under the writer's lock, end proven)."""
        from borough.audit.chain import checkpoint_fields

        sink = self._sink
        if sink.size == 0:
            return
        first_seq, first_ts = self._live_first()
        closing_seq = sink.end.seq + 1
        fields = checkpoint_fields(context, reason=SEGMENT_CLOSED)
        fields["detail"]["segment"] = {
            "first_seq": first_seq,
            "last_seq": closing_seq,
            "records": closing_seq - first_seq + 1,
            "first_ts": first_ts,
            "last_ts": sink.last_ts,  # the last record before this checkpoint
            "bytes": sink.size,
            "sha256": self._live_sha256(sink.size),
            "next_seq": closing_seq + 1,
            "next_file": segment_name(closing_seq + 1),
        }
        sink.write_batch([fields], allow_checkpoint=False)
        self._unfinished = True
        self._finish()

    def _finish(self) -> None:
        sink = self._sink
        first_seq = self._live_first()[0]
        target = sink.folder / segment_name(first_seq)
        try:
            private_dir(target.parent)
            if target.exists():
                raise AuditError(
                    f"cannot close the audit segment: {target} already exists (a segment was "
                    "put back by hand?); nothing more is written. Run `borough audit verify`"
                )
            os.rename(sink.path, target)
            sync_folder(target.parent)
            sync_folder(sink.folder)
            sink.reopen()
        except OSError as exc:
            raise AuditError(write_failure(exc, sink.path)) from None
        self._closed = None
        sink.reset_after_rewrite(0, sink.end)
        sink.prove_end()  # another writer may have started the new live file meanwhile

    def started(self, record: dict[str, Any]) -> None:
        """The first record of a new (or emptied) live file was just written."""
        self._first = (int(record["seq"]), str(record["ts"]))

    def live_segment(self) -> int:
        """The segment number (first seq) of the non-empty live file."""
        return self._live_first()[0]

    def _live_first(self) -> tuple[int, str]:
        if self._first is None:
            self._first = _first_record(self._sink.fd)
        return self._first

    def _live_sha256(self, size: int) -> str:
        digest = hashlib.sha256()
        fd, offset = self._sink.fd, 0
        while offset < size:
            block = os.pread(fd, min(_BLOCK, size - offset), offset)
            if not block:
                break
            digest.update(block)
            offset += len(block)
        return digest.hexdigest()


def _first_record(fd: int) -> tuple[int, str]:
    """(seq, ts) of the first record of an open, non-empty, proven live file."""
    data, offset = b"", 0
    while b"\n" not in data:
        block = os.pread(fd, 65536, offset)
        if not block:
            break
        data += block
        offset += len(block)
    line = data.split(b"\n", 1)[0] + b"\n"
    found = records.quick(line)
    if found is not None:
        return found.seq, found.ts
    record = records.parse_line(line)
    return int(record["seq"]), str(record["ts"])


def sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
