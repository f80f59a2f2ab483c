"""The last point of a trail that ``audit verify`` proved, so the next run checks only what
came after it (and that the point still holds).

The point is a signed record (the head's, or a checkpoint's) with where its line ends, the
SHA-256 of its file up to there, and, for each closed segment before it, its closing
checkpoint and file metadata. It is kept in the ledger, signed by the verifier's key, so a
forged or altered point is ignored (and a full walk done instead). Proving that the point
still holds costs one sequential hash of the live segment up to the point, plus a hash of
any closed segment whose file metadata changed: the closing checkpoint, whose hash the point
remembers, records the SHA-256 of everything before it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from borough.audit import records
from borough.audit.anchors import Anchor
from borough.audit.index import segment_of
from borough.audit.keys import AuditKeys
from borough.audit.segments import TrailFile, closing_detail, last_line, sha256_prefix
from borough.audit.trailwalk import Start
from borough.audit.walk import Resume, Row

STATE_SCHEMA = "borough.verified/2"  #: /1 points digested anchors as JSON (slow): walked anew


def anchors_digest(anchors: Iterable[Anchor], through: int) -> str:
    """A digest of the anchors for records up to ``through`` (an altered one changes it):
    every field of each, as one JSON array (encoded in one call: cheap for 100,000s)."""
    held = sorted((a for a in anchors if a.seq <= through), key=lambda a: (a.seq, a.kind, a.ts))
    fields = [[a.trail, a.seq, a.hash, a.ts, a.kind, a.signature] for a in held]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode("utf-8")).hexdigest()


def file_stamp(path: Path) -> list[int]:
    """What changes when a file is written, renamed or touched: size, times, inode."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


@dataclass(frozen=True)
class Verified:
    """A proven point of ``trail`` (see the module docstring)."""

    trail: str
    seq: int
    hash: str
    segment: int  #: the segment (first seq) of the file holding the point
    offset: int  #: where the point's line ends in that file
    line: int  #: the point's line number in that file
    prefix_sha256: str  #: of that file's bytes before ``offset``
    first_seq: int
    records: int
    checkpoints: int
    signed_through: int | None
    #: [segment, closing seq, closing hash, size, mtime_ns, ctime_ns, inode] per closed
    #: segment before the point's file
    closed: list[list[Any]] = field(default_factory=list)
    verified_at: str = ""
    anchors_sha256: str = ""  #: the ledger's anchors up to the point, as they were held
    signature: str = ""

    def payload(self) -> bytes:
        body = {"schema": STATE_SCHEMA, **asdict(self)}
        body.pop("signature")
        return records.canonical_json(body).encode("utf-8")

    def signed(self, keys: AuditKeys) -> Verified:
        return replace(self, signature=keys.sign(self.payload()))

    def signature_ok(self, keys: AuditKeys) -> bool:
        return keys.signature_ok(self.signature, self.payload())

    def to_json(self) -> str:
        return records.canonical_json({"schema": STATE_SCHEMA, **asdict(self)})

    @classmethod
    def from_json(cls, text: str) -> Verified | None:
        try:
            data = json.loads(text)
            if data.pop("schema", None) != STATE_SCHEMA:
                return None
            return cls(**data)
        except (ValueError, TypeError):
            return None


class VerifiedStore(Protocol):
    """Where points are kept: the ledger's ``borough_audit_verified``."""

    def get(self, trail: str, verifier: str) -> str | None: ...

    def put(self, trail: str, verifier: str, state: str) -> None: ...


def resume_point(state: Verified, files: list[TrailFile]) -> Start | None:
    """Where to continue, if the remembered point still holds; None: walk everything."""
    closed = {f.first_seq: f for f in files if f.closed}
    remembered = {int(entry[0]) for entry in state.closed}
    for entry in state.closed:
        segment, closing_seq, closing_hash, *stamp = entry
        file = closed.get(int(segment))
        if file is None:
            return None  # gone (retention?): a full walk judges it
        if file_stamp(file.path) != stamp and not _reproven(file, closing_seq, closing_hash):
            return None
    for number, file in enumerate(files):
        if file.closed and (file.first_seq or 0) < state.segment:
            if file.first_seq not in remembered:
                return None  # a segment appeared before the point
            continue
        if segment_of(file) != state.segment:
            return None
        if _prefix_holds(file, state):
            row = _point_row(state, number)
            resume = Resume(state.seq, state.hash, signed_through=state.signed_through)
            return Start(number, state.offset, state.line, resume, row)
        return None
    return None


def _prefix_holds(file: TrailFile, state: Verified) -> bool:
    try:
        if os.stat(file.path).st_size < state.offset:
            return False
        return sha256_prefix(file.path, state.offset) == state.prefix_sha256
    except OSError:
        return False


def _reproven(file: TrailFile, closing_seq: int, closing_hash: str) -> bool:
    """A closed segment whose file changed is still the one verified: its closing checkpoint
    is the one remembered and the bytes before it hash to what that checkpoint records."""
    line = last_line(file.path)
    if line is None:
        return False
    try:
        record = records.parse_line(line.raw)
    except records.MalformedRecord:
        return False
    segment = closing_detail(record)
    return (
        segment is not None
        and record["seq"] == closing_seq
        and record["hash"] == closing_hash
        and records.record_hash(record) == closing_hash
        and segment.get("sha256") == sha256_prefix(file.path, line.offset)
    )


def _point_row(state: Verified, number: int) -> Row:
    return Row(
        state.line, state.seq, state.hash, "", "", records.SCHEMA, None, True, None, None,
        None, file=number,
    )  # fmt: skip


def new_point(
    trail: str,
    point: Row,
    files: list[TrailFile],
    *,
    closings: dict[int, Row],
    before: Verified | None,
    totals: tuple[int, int, int, int | None],
    now: str,
    anchors: Iterable[Anchor] = (),
) -> Verified:
    """The point to remember after a successful verification (``totals``: first seq,
    records, checkpoints, signed through)."""
    file = files[point.file]
    segment = file.first_seq if file.closed else segment_of(file)
    end = point.offset + point.length
    kept = {int(e[0]): e for e in (before.closed if before else [])}
    closed = []
    for number, earlier in enumerate(files[: point.file]):
        if not earlier.closed:
            continue
        closing = closings.get(number)
        if closing is not None:
            entry = [earlier.first_seq, closing.seq, closing.hash, *file_stamp(earlier.path)]
        else:
            entry = kept[earlier.first_seq or 0]
        closed.append(entry)
    first_seq, count, checkpoints, signed_through = totals
    return Verified(
        trail,
        point.seq,
        point.hash,
        int(segment or point.seq),
        end,
        point.line,
        sha256_prefix(file.path, end),
        first_seq,
        count,
        checkpoints,
        signed_through,
        closed,
        now,
        anchors_digest(anchors, point.seq),
    )
