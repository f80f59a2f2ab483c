"""Walking the chain for ``audit verify``: each record checked against its predecessor.

The walk streams: lines are read one at a time (across every segment file, in order), each
becomes a compact :class:`Row`, and a :class:`Walker` checks it against the row before it,
so memory stays flat however long the trail. Lines whose bytes match their hash take a
fast path (:func:`borough.audit.records.quick`); every other line is parsed strictly, so a
line that is not exactly a record is named as such. The first problem stops the walk;
telling *missing* from *moved* from *inserted* then needs the rest of the trail's sequence
numbers, which :class:`Walker` asks for through a callback (only when something is wrong).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from borough.audit import records
from borough.audit.keys import AuditKeys

ProblemKind = Literal[
    "malformed",
    "torn",
    "unknown-schema",
    "modified",
    "missing",
    "inserted",
    "reordered",
    "truncated",
    "bad-signature",
    "bad-mac",
    "unproven",
    "index",
]

#: A row's place in the trail: (file number in trail order, line number in that file).
Pos = tuple[int, int]


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with the trail: what, at which record (seq) and file line.

    ``segment`` names the file (relative to the trail's folder) when it is not the live
    ``audit.jsonl``; ``line`` counts lines in that file.
    """

    kind: ProblemKind
    seq: int | None
    line: int | None
    message: str
    segment: str | None = None


class Stop(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


@dataclass(slots=True)
class Row:
    """What verification keeps of one record."""

    line: int
    seq: int
    hash: str
    prev_hash: str
    ts: str
    schema: str
    action: str | None
    hash_ok: bool
    mac_ok: bool | None  #: None: not checked (no key, or a /1 record)
    signature_ok: bool | None  #: None: not a signed record
    purge: tuple[int, str] | None  #: (purged_through_seq, purged_through_hash)
    file: int = 0  #: the file's number in trail order
    detail: dict[str, Any] | None = None  #: signed records only
    offset: int = 0  #: where its line starts in its file
    length: int = 0  #: its line's length (newline included)


def quick_row(
    number: int, raw: bytes, keys: AuditKeys, *, strict_after: int | None = None
) -> Row | None:
    """The fast path (see module docstring); None when the strict parser must decide.

    ``strict_after``: rows after this seq that no MAC proves are parsed strictly (with the
    public key alone nothing vouches for their bytes).
    """
    found = records.quick(raw)
    if found is None:
        return None
    mac_ok = None
    if found.mac is not None and keys.mac_key is not None:
        mac_ok = keys.mac_ok(found.hash, found.mac)
    elif strict_after is not None and found.seq > strict_after:
        return None
    return Row(
        number, found.seq, found.hash, found.prev_hash, found.ts, found.schema, None, True,
        mac_ok, None, None,
    )  # fmt: skip


def strict_row(number: int, raw: bytes, keys: AuditKeys, last_seq: int | None) -> Row:
    """Parse ``raw`` strictly; raises :class:`Stop` naming the line if it is not a record."""
    try:
        record = records.parse_line(raw)
    except records.UnknownSchema as exc:
        raise Stop(
            Problem(
                "unknown-schema",
                _guess_seq(raw, last_seq),
                number,
                f"record has schema {str(exc)!r}; this borough reads "
                f"{' and '.join(repr(s) for s in records.SCHEMAS)}",
            )
        ) from None
    except records.MalformedRecord as exc:
        guess = last_seq + 1 if last_seq is not None else None
        raise Stop(
            Problem("malformed", guess, number, f"line {number} is not a record ({exc})")
        ) from None
    return record_row(number, record, keys)


def _guess_seq(raw: bytes, last_seq: int | None) -> int | None:
    try:
        seq = json.loads(raw).get("seq")
        return seq if type(seq) is int else None
    except (ValueError, AttributeError):
        return last_seq + 1 if last_seq is not None else None


def record_row(number: int, record: dict[str, Any], keys: AuditKeys) -> Row:
    digest = records.record_hash(record)
    mac_ok = None
    if record["schema"] == records.SCHEMA and keys.mac_key is not None:
        mac_ok = keys.mac_ok(record["hash"], record["mac"])
    action = record.get("action")
    signature_ok = None
    detail = record["detail"] if isinstance(record.get("detail"), dict) else {}
    if action in records.SIGNED_ACTIONS:
        signature_ok = keys.signature_ok(record.get("signature"), records.signed_payload(record))
    purge = None
    if action == records.PURGE and isinstance(detail.get("purged_through_seq"), int):
        purge = (detail["purged_through_seq"], str(detail.get("purged_through_hash")))
    return Row(
        number,
        record["seq"],
        str(record["hash"]),
        str(record["prev_hash"]),
        str(record["ts"]),
        record["schema"],
        action if isinstance(action, str) else None,
        digest == record["hash"],
        mac_ok,
        signature_ok,
        purge,
        detail=detail if action in records.SIGNED_ACTIONS else None,
    )


@dataclass(frozen=True)
class Resume:
    """Where a walk starts that does not start at the trail's beginning: the record before
    it (the last verified signed record, or the record before a parallel chunk)."""

    seq: int
    hash: str
    signed: bool = True  #: the record is a proven signed point
    signed_through: int | None = None  #: the last signed record up to it (for the verdict)


@dataclass
class WalkResult:
    records: int = 0
    first: Row | None = None
    last: Row | None = None
    signed_through: int | None = None
    checkpoints: int = 0
    restarted: bool = False
    #: the first row after the latest signed point (head or signed record), if any
    unsigned: Row | None = None
    #: hashes (and rows) of the sequence numbers asked for (head, anchors)
    found: dict[int, Row] = field(default_factory=dict)
    last_signed: Row | None = None  #: the newest signed record walked
    claims: set[tuple[int, str]] = field(default_factory=set)  #: signed purge claims seen
    pending_start: Row | None = None  #: a first record after 1 no claim seen accounts for


#: Every row's (position, seq) from the start of the trail, for classifying a problem.
SeqScan = Callable[[], Iterable[tuple[Pos, int]]]
#: Valid signed purge claims anywhere in the trail (up to its first unreadable line).
PurgeScan = Callable[[], Iterable[tuple[int, str]]]


class Walker:
    """Checks rows fed in trail order; raises :class:`Stop` at the first problem."""

    def __init__(
        self,
        *,
        head_seq: int = 0,
        wanted: Iterable[int] = (),
        resume: Resume | None = None,
        seqs: SeqScan | None = None,
        purges: PurgeScan | None = None,
        names: Callable[[int], str | None] = lambda _file: None,
        defer_start: bool = False,
    ) -> None:
        self.result = WalkResult()
        self._head_seq = head_seq
        self.wanted = set(wanted)
        self._seqs = seqs
        self._purges = purges
        self._names = names
        self._claims = self.result.claims
        self._defer_start = defer_start
        self._start_pending: Row | None = None
        self._seen_v2 = False
        self._expected: int | None = None
        self._prev_hash = ""
        self._prev: Row | None = None
        self._signed = 0
        if resume is not None:
            self._expected, self._prev_hash = resume.seq + 1, resume.hash
            if resume.signed:
                self.result.signed_through = resume.signed_through or resume.seq
                self._signed = resume.seq

    def feed(self, row: Row) -> None:
        try:
            self._feed(row)
        except Stop as stop:
            raise Stop(self.fail(stop.problem)) from None

    def fail(self, problem: Problem) -> Problem:
        """The problem to report for ``problem`` found while walking: a missing start that
        no signed purge anywhere in the trail accounts for comes first."""
        if self._start_pending is None or self._start_accounted(look_ahead=True):
            return problem
        return self._missing_start(self._start_pending)

    def stop(self, problem: Problem) -> Problem:
        """The problem to report when reading stopped at ``problem`` (a line that is not a
        record): a missing start, if no purge seen so far accounts for it, comes first."""
        if self._start_pending is not None and not self._start_accounted(look_ahead=False):
            return self._missing_start(self._start_pending)
        return problem

    def finish(self) -> WalkResult:
        """The result; a start no purge accounts for is a problem (or, with ``defer_start``,
        left for whoever joins this walk with the others to decide)."""
        if self._start_pending is not None and not self._start_accounted(look_ahead=False):
            if self._defer_start:
                self.result.pending_start = self._start_pending
            else:
                raise Stop(self._missing_start(self._start_pending))
        return self.result

    # -- one row --------------------------------------------------------------------------
    def _feed(self, row: Row) -> None:
        result = self.result
        if result.first is None:
            result.first = row
            if self._expected is None:
                self._start(row)
        seq, line = row.seq, row.line
        if self._expected is None:
            self._expected, self._prev_hash = seq, row.prev_hash
        if seq != self._expected:
            raise Stop(self._out_of_sequence(row, self._expected))
        if not row.hash_ok:
            raise Stop(
                self._at(
                    row,
                    "modified",
                    seq,
                    f"record {seq} (line {line}) was changed after it was written: its content "
                    "no longer matches its hash",
                )
            )
        if row.prev_hash != self._prev_hash:
            prev_line = self._prev.line if self._prev is not None else line
            prev_file = self._prev.file if self._prev is not None else row.file
            raise Stop(
                Problem(
                    "modified",
                    seq - 1,
                    prev_line,
                    f"record {seq - 1} (line {prev_line}) was rewritten: record {seq} still "
                    "links to its original hash",
                    self._names(prev_file),
                )
            )
        if row.schema == records.SCHEMA_V1 and self._seen_v2:
            raise Stop(
                self._at(
                    row,
                    "malformed",
                    seq,
                    f"record {seq} (line {line}) is in the old format {records.SCHEMA_V1} after "
                    f"records in {records.SCHEMA}: borough never writes that, so it was forged",
                )
            )
        self._seen_v2 = self._seen_v2 or row.schema == records.SCHEMA
        if row.mac_ok is False:
            raise Stop(
                self._at(
                    row,
                    "bad-mac",
                    seq,
                    f"record {seq} (line {line}) was not written by this installation: its MAC "
                    "does not match (it was forged, or the chain was rewritten and re-hashed)",
                )
            )
        if row.signature_ok is False:
            since = result.signed_through or 0
            raise Stop(
                self._at(
                    row,
                    "bad-signature",
                    seq,
                    f"{row.action} record {seq} (line {line}) does not carry a valid signature: "
                    f"it was forged, or records {since + 1}-{seq - 1} were rewritten and "
                    "re-hashed",
                )
            )
        if row.signature_ok:
            result.checkpoints += 1
            result.signed_through = seq
            result.restarted = result.restarted or row.action == records.RESTARTED
            if row.purge is not None:
                self._claims.add(row.purge)
            self._signed = seq
            result.unsigned = None
            result.last_signed = row
        elif result.unsigned is None and seq > max(self._signed, self._head_seq):
            result.unsigned = row
        if seq in self.wanted:
            result.found[seq] = row
        result.records += 1
        result.last = row
        self._prev, self._prev_hash = row, row.hash
        self._expected = seq + 1

    def _at(self, row: Row, kind: ProblemKind, seq: int | None, message: str) -> Problem:
        return Problem(kind, seq, row.line, message, self._names(row.file))

    # -- the start of the trail -------------------------------------------------------------
    def _start(self, first: Row) -> None:
        if first.seq == 1:
            if first.prev_hash != records.GENESIS_HASH:
                raise Stop(
                    self._at(
                        first,
                        "modified",
                        1,
                        "record 1 does not start the chain (its previous hash is not the "
                        "genesis hash)",
                    )
                )
            return
        self._start_pending = first

    def _start_accounted(self, *, look_ahead: bool) -> bool:
        first = self._start_pending
        assert first is not None
        claim = (first.seq - 1, first.prev_hash)
        if claim in self._claims:
            return True
        return look_ahead and self._purges is not None and claim in set(self._purges())

    def _missing_start(self, first: Row) -> Problem:
        return self._at(
            first,
            "missing",
            1,
            f"records 1-{first.seq - 1} are missing from the start of the trail and no signed "
            "purge record accounts for them",
        )

    # -- sequence numbers out of order --------------------------------------------------------
    def _out_of_sequence(self, row: Row, expected: int) -> Problem:
        seq, line = row.seq, row.line
        scanned = list(self._seqs()) if self._seqs is not None else []
        here = (row.file, line)
        if seq > expected:
            later = next((pos for pos, s in scanned if s == expected and pos > here), None)
            if later is not None:
                return Problem(
                    "reordered",
                    expected,
                    later[1],
                    f"record {expected} was moved: it is at {self._place(later)}, after record "
                    f"{seq} ({self._place(here)})",
                    self._names(later[0]),
                )
            missing = f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
            return self._at(
                row,
                "missing",
                expected,
                f"record(s) {missing} were deleted: {self._place(here)} holds record {seq}",
            )
        counts = Counter(s for _, s in scanned)
        if counts[seq] > 1:
            return self._at(
                row,
                "inserted",
                expected,
                f"an extra record was inserted at {self._place(here)}: it repeats sequence "
                f"number {seq} where record {expected} belongs",
            )
        return self._at(
            row,
            "reordered",
            seq,
            f"record {seq} was moved: it is at {self._place(here)}, after record {expected - 1}",
        )

    def _place(self, pos: Pos) -> str:
        """``line N``, naming the file when it is a closed segment."""
        name = self._names(pos[0])
        return f"line {pos[1]}" if name is None else f"line {pos[1]} of {name}"


def rows_of(
    lines: Iterator[tuple[int, bytes]],
    keys: AuditKeys,
    *,
    file: int = 0,
    strict_after: int | None = None,
    last_seq: int | None = None,
) -> Iterator[Row]:
    """Rows of numbered lines (fast path first); :class:`Stop` at a line that is no record."""
    for number, raw in lines:
        row = quick_row(number, raw, keys, strict_after=strict_after)
        if row is None:
            row = strict_row(number, raw, keys, last_seq)
        row.file = file
        last_seq = row.seq
        yield row
