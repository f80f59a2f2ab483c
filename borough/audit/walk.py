"""Walking the chain for ``audit verify``: each record checked against its predecessor.

Lines are parsed strictly into compact rows (what the walk needs, not whole records), up to
the first line that is not a record; the walk then names the first record, in file order,
that is not as written: changed, rewritten, missing, inserted, moved, forged (MAC) or
carrying a bad signature.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from borough.audit import records
from borough.audit.files import Line, Scan
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
]


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with the trail: what, at which record (seq) and file line."""

    kind: ProblemKind
    seq: int | None
    line: int | None
    message: str


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


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    problem: Problem | None = None  #: the first line that is not a record (or torn end)


def parse_trail(path: Path, keys: AuditKeys) -> Parsed:
    """Rows for every record up to the first line that is not one."""
    parsed = Parsed()
    scan = Scan(path)
    with closing(scan.lines()) as lines:
        return _parse_lines(lines, scan, parsed, keys)


def _parse_lines(
    lines: Iterator[tuple[int, Line]], scan: Scan, parsed: Parsed, keys: AuditKeys
) -> Parsed:
    for number, line in lines:
        try:
            record = line.record()
        except records.UnknownSchema as exc:
            parsed.problem = Problem(
                "unknown-schema",
                _guess_seq(line.raw, parsed.rows),
                number,
                f"record has schema {str(exc)!r}; this borough reads "
                f"{' and '.join(repr(s) for s in records.SCHEMAS)}",
            )
            return parsed
        except records.MalformedRecord as exc:
            guess = parsed.rows[-1].seq + 1 if parsed.rows else None
            parsed.problem = Problem(
                "malformed", guess, number, f"line {number} is not a record ({exc})"
            )
            return parsed
        parsed.rows.append(_row(number, record, keys))
    if scan.torn is not None:
        last = parsed.rows[-1].seq if parsed.rows else 0
        number = (parsed.rows[-1].line + 1) if parsed.rows else 1
        parsed.problem = Problem(
            "torn",
            last + 1,
            number,
            f"the last line ({len(scan.torn.raw)} bytes after record {last}) is an incomplete "
            "record: a writer was stopped mid-write (kill -9, power loss or a full disk). "
            "`borough audit repair` keeps every complete record and moves the torn bytes aside",
        )
    return parsed


def _guess_seq(raw: bytes, rows: list[Row]) -> int | None:
    try:
        seq = json.loads(raw).get("seq")
        return seq if type(seq) is int else None
    except (ValueError, AttributeError):
        return rows[-1].seq + 1 if rows else None


def _row(number: int, record: dict[str, Any], keys: AuditKeys) -> Row:
    digest = records.record_hash(record)
    mac_ok = None
    if record["schema"] == records.SCHEMA and keys.mac_key is not None:
        mac_ok = keys.mac_ok(record["hash"], record["mac"])
    action = record.get("action")
    signature_ok = None
    if action in records.SIGNED_ACTIONS:
        signature_ok = keys.signature_ok(record.get("signature"), records.signed_payload(record))
    purge = None
    detail = record["detail"] if isinstance(record.get("detail"), dict) else {}
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
    )


@dataclass
class WalkResult:
    signed_through: int | None = None
    checkpoints: int = 0
    restarted: bool = False


def walk(rows: list[Row]) -> WalkResult:
    """Check every row against its predecessor; raises :class:`Stop` at the first problem."""
    result = WalkResult()
    if not rows:
        return result
    counts = Counter(row.seq for row in rows)
    _check_start(rows)
    first = rows[0]
    expected, prev_hash, prev_line = first.seq, first.prev_hash, first.line
    seen_v2 = False
    for row in rows:
        seq, line = row.seq, row.line
        if seq != expected:
            raise Stop(_out_of_sequence(seq, expected, line, counts, rows))
        if not row.hash_ok:
            raise Stop(
                Problem(
                    "modified",
                    seq,
                    line,
                    f"record {seq} (line {line}) was changed after it was written: its content "
                    "no longer matches its hash",
                )
            )
        if row.prev_hash != prev_hash:
            raise Stop(
                Problem(
                    "modified",
                    seq - 1,
                    prev_line,
                    f"record {seq - 1} (line {prev_line}) was rewritten: record {seq} still "
                    "links to its original hash",
                )
            )
        if row.schema == records.SCHEMA_V1 and seen_v2:
            raise Stop(
                Problem(
                    "malformed",
                    seq,
                    line,
                    f"record {seq} (line {line}) is in the old format {records.SCHEMA_V1} after "
                    f"records in {records.SCHEMA}: borough never writes that, so it was forged",
                )
            )
        seen_v2 = seen_v2 or row.schema == records.SCHEMA
        if row.mac_ok is False:
            raise Stop(
                Problem(
                    "bad-mac",
                    seq,
                    line,
                    f"record {seq} (line {line}) was not written by this installation: its MAC "
                    "does not match (it was forged, or the chain was rewritten and re-hashed)",
                )
            )
        if row.signature_ok is False:
            since = result.signed_through or 0
            raise Stop(
                Problem(
                    "bad-signature",
                    seq,
                    line,
                    f"{row.action} record {seq} (line {line}) does not carry a valid signature: "
                    f"it was forged, or records {since + 1}-{seq - 1} were rewritten and "
                    "re-hashed",
                )
            )
        if row.signature_ok:
            result.checkpoints += 1
            result.signed_through = seq
            result.restarted = result.restarted or row.action == records.RESTARTED
        prev_hash, prev_line = row.hash, line
        expected += 1
    return result


def _check_start(rows: list[Row]) -> None:
    first = rows[0]
    if first.seq == 1:
        if first.prev_hash != records.GENESIS_HASH:
            raise Stop(
                Problem(
                    "modified",
                    1,
                    first.line,
                    "record 1 does not start the chain (its previous hash is not the genesis hash)",
                )
            )
        return
    for row in rows:
        if row.purge == (first.seq - 1, first.prev_hash) and row.signature_ok:
            return
    raise Stop(
        Problem(
            "missing",
            1,
            first.line,
            f"records 1-{first.seq - 1} are missing from the start of the trail and no signed "
            "purge record accounts for them",
        )
    )


def _out_of_sequence(
    seq: int, expected: int, line: int, counts: Counter[int], rows: list[Row]
) -> Problem:
    if seq > expected:
        later = next((r.line for r in rows if r.seq == expected and r.line > line), None)
        if later is not None:
            return Problem(
                "reordered",
                expected,
                later,
                f"record {expected} was moved: it is at line {later}, after record {seq} "
                f"(line {line})",
            )
        missing = f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
        return Problem(
            "missing",
            expected,
            line,
            f"record(s) {missing} were deleted: line {line} holds record {seq}",
        )
    if counts[seq] > 1:
        return Problem(
            "inserted",
            expected,
            line,
            f"an extra record was inserted at line {line}: it repeats sequence number {seq} "
            f"where record {expected} belongs",
        )
    return Problem(
        "reordered",
        seq,
        line,
        f"record {seq} was moved: it is at line {line}, after record {expected - 1}",
    )
