"""One pass over every file of a trail, in order, feeding a :class:`~borough.audit.walk.Walker`.

Beyond each record, it checks what only files show: a closed segment starts with the record
its name says and ends with the signed checkpoint that closes it, the next segment is the one
that checkpoint names, and only the live file may end in a torn (incomplete) line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from borough.audit import records
from borough.audit.index import segment_of
from borough.audit.keys import AuditKeys
from borough.audit.segments import TrailFile, last_line, segment_name
from borough.audit.walk import (
    Pos,
    Problem,
    Resume,
    Row,
    Stop,
    Walker,
    WalkResult,
    quick_row,
    strict_row,
)

_PURGE_PREFIX = b'{"action":"' + records.PURGE.encode() + b'"'


@dataclass(frozen=True)
class Start:
    """Where an incremental walk begins: a file, a byte offset and the lines before it."""

    file: int
    offset: int
    line: int
    resume: Resume
    row: Row  #: the verified point itself (what the walk continues from)


class TrailWalk:
    """Walks ``files`` (closed segments, then the live file) with ``keys``."""

    def __init__(
        self,
        files: list[TrailFile],
        keys: AuditKeys,
        *,
        head_seq: int = 0,
        allow_torn: bool = False,
        start: Start | None = None,
        on_row: Callable[[Row, int, str | None], None] | None = None,
        end: int | None = None,
        defer_start: bool = False,
    ) -> None:
        self.files = files
        self.keys = keys
        self.head_seq = head_seq
        self.allow_torn = allow_torn
        self.start = start
        self.names = [f.name if f.closed else None for f in files]
        self._on_row = on_row  #: called with each walked row, its segment number and file name
        self.closings: dict[int, Row] = {}  #: each walked closed segment's closing checkpoint
        self._end = end  #: stop at this byte of the first file walked (a parallel chunk)
        self._defer_start = defer_start
        #: with the public key alone, lines after the head are parsed strictly
        self._strict_after = None if keys.mac_key is not None else head_seq

    def run(self, *, wanted: Iterable[int] = ()) -> WalkResult:
        walker = Walker(
            head_seq=self.head_seq,
            wanted=wanted,
            resume=self.start.resume if self.start else None,
            seqs=self._seqs,
            purges=self._purges,
            names=lambda index: self.names[index],
            defer_start=self._defer_start,
        )
        closing: Row | None = None
        first_file = 0
        if self.start is not None:
            first_file = self.start.file
            walker.result.last = self.start.row
            if self.start.row.seq in walker.wanted:
                walker.result.found[self.start.row.seq] = self.start.row
        for index in range(first_file, len(self.files)):
            file = self.files[index]
            start = self.start if self.start is not None and index == first_file else None
            offset, line = (start.offset, start.line) if start else (0, 0)
            last: Row | None = start.row if start else None
            segment = file.first_seq
            for row in self._rows(walker, index, offset, line):
                if last is None:
                    self._boundary(walker, index, row, closing)
                walker.feed(row)
                if self._on_row is not None:
                    if segment is None:
                        segment = segment_of(file) if offset else row.seq
                    self._on_row(row, segment or row.seq, self.names[index])
                last = row
            if self._end is not None:
                break  # a chunk: the one who joins the chunks checks the segment's end
            closing = None
            if file.closed and not (start and last is start.row):
                closing = self._closed_end(walker, file, index, last)
                if closing is not None:
                    self.closings[index] = closing
        return walker.finish()

    # -- reading ------------------------------------------------------------------------------
    def _rows(self, walker: Walker, index: int, offset: int, line: int) -> Iterator[Row]:
        file = self.files[index]
        last_seq = walker.result.last.seq if walker.result.last else None
        end = self._end if index == (self.start.file if self.start else 0) else None
        for number, raw in _lines(file, offset, line):
            if end is not None and offset >= end:
                return
            start, offset = offset, offset + len(raw)
            if not raw.endswith(b"\n"):
                problem = self._torn(walker, file, index, number, raw)
                if problem is None:
                    return
                raise Stop(walker.stop(problem))
            row = quick_row(number, raw, self.keys, strict_after=self._strict_after)
            if row is None:
                try:
                    row = strict_row(number, raw, self.keys, last_seq)
                except Stop as stop:
                    named = dataclasses.replace(stop.problem, segment=self.names[index])
                    raise Stop(walker.stop(named)) from None
            row.file, row.offset, row.length = index, start, len(raw)
            last_seq = row.seq
            yield row

    def _torn(
        self, walker: Walker, file: TrailFile, index: int, number: int, raw: bytes
    ) -> Problem | None:
        last = walker.result.last
        after = last.seq if last else 0
        if file.closed:
            return Problem(
                "malformed",
                after + 1,
                number,
                f"the closed segment {file.name} ends with an incomplete line ({len(raw)} bytes "
                f"after record {after}): closed segments never change, so it was cut or edited",
                file.name,
            )
        if self.allow_torn:
            return None
        return Problem(
            "torn",
            after + 1,
            number,
            f"the last line ({len(raw)} bytes after record {after}) is an incomplete "
            "record: a writer was stopped mid-write (kill -9, power loss or a full disk). "
            "`borough audit repair` keeps every complete record and moves the torn bytes aside "
            "(the next run or command that appends a record does the same by itself when every "
            'record before the line proves: docs/audit.md, "Repairs")',
        )

    # -- segment boundaries -------------------------------------------------------------------
    def _boundary(self, walker: Walker, index: int, row: Row, closing: Row | None) -> None:
        file = self.files[index]
        if file.closed and row.seq != file.first_seq:
            self._misnamed(walker, file, row)
        if closing is None or closing.detail is None:
            return
        segment = closing.detail.get("segment")
        next_seq = segment.get("next_seq") if isinstance(segment, dict) else None
        if not isinstance(next_seq, int) or row.seq <= next_seq:
            return
        if any(f.first_seq == next_seq for f in self.files):
            return  # present, but elsewhere in the order: the walk says how
        raise Stop(
            walker.fail(
                Problem(
                    "missing",
                    next_seq,
                    row.line,
                    f"records {next_seq}-{row.seq - 1} are missing: the segment "
                    f"{segment_name(next_seq)}, which record {closing.seq} (the signed checkpoint "
                    f"closing {self.names[closing.file]}) names as the next, is gone",
                    self.names[index],
                )
            )
        )

    def _misnamed(self, walker: Walker, file: TrailFile, row: Row) -> None:
        """A closed segment whose first record is not the one its name says."""
        named = file.first_seq or 0
        owner = next((f for f in self.files if f.first_seq == row.seq), None)
        if owner is not None and owner is not file:
            problem = Problem(
                "reordered",
                file.first_seq,
                row.line,
                f"the segment {file.name} holds records {row.seq}-{_last_seq(file)}, but its name "
                f"says it begins at record {file.first_seq}: segment files were swapped or "
                "renamed",
                file.name,
            )
        elif walker.result.last is not None and row.seq > named == walker.result.last.seq + 1:
            return  # its first records were cut: the walk names them missing
        else:
            problem = Problem(
                "modified",
                row.seq,
                row.line,
                f"the segment {file.name} begins with record {row.seq}, but its name says record "
                f"{file.first_seq}: it was renamed (a closed segment is named after its first "
                "record)",
                file.name,
            )
        raise Stop(walker.fail(problem))

    def _closed_end(
        self, walker: Walker, file: TrailFile, index: int, last: Row | None
    ) -> Row | None:
        """A closed segment ends with the signed checkpoint that closes it."""
        segment = last.detail.get("segment") if last and last.detail else None
        if last is not None and isinstance(segment, dict) and last.signature_ok:
            return last
        after = last.seq if last else (file.first_seq or 1) - 1
        raise Stop(
            walker.fail(
                Problem(
                    "missing",
                    after + 1,
                    last.line + 1 if last else 1,
                    f"the closed segment {file.name} ends at record {after} without the signed "
                    "checkpoint that closes it: records were cut from its end",
                    file.name,
                )
            )
        )

    # -- look-ahead for classifying a problem (only when something is wrong) -------------------
    def _seqs(self) -> Iterator[tuple[Pos, int]]:
        last: int | None = None
        for index, file in enumerate(self.files):
            for number, raw in _lines(file, 0, 0):
                if not raw.endswith(b"\n"):
                    return
                found = records.quick(raw)
                if found is not None:
                    seq = found.seq
                else:
                    try:
                        seq = strict_row(number, raw, self.keys, last).seq
                    except Stop:
                        return
                last = seq
                yield (index, number), seq

    def _purges(self) -> Iterator[tuple[int, str]]:
        for file in self.files:
            for number, raw in _lines(file, 0, 0):
                if not raw.endswith(b"\n"):
                    return
                if not raw.startswith(_PURGE_PREFIX):
                    if records.quick(raw) is None:
                        try:
                            records.parse_line(raw)
                        except records.MalformedRecord:
                            return
                    continue
                try:
                    row = strict_row(number, raw, self.keys, None)
                except Stop:
                    return
                if row.purge is not None and row.signature_ok:
                    yield row.purge


def _lines(file: TrailFile, offset: int, line: int) -> Iterator[tuple[int, bytes]]:
    try:
        handle = file.path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        if offset:
            handle.seek(offset)
        yield from enumerate(handle, start=line + 1)


def _last_seq(file: TrailFile) -> int | str:
    line = last_line(file.path)
    found = records.quick(line.raw) if line else None
    if found is not None:
        return found.seq
    try:
        return int(records.parse_line(line.raw)["seq"]) if line else "?"
    except records.MalformedRecord:
        return "?"
