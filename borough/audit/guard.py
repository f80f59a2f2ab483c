"""Before appending, the writer proves the file's end is what it may write after.

The end must be what ``audit.head`` signed, possibly followed by records whose MACs prove
they are the installation's own (a writer stopped between appending and re-signing);
it must reach every anchor the ledger holds and agree with it, and it must not be shorter
than what this process itself wrote. Otherwise the writer refuses with an
:class:`~borough.errors.AuditError` that names the record and says what to do. A torn last
line is proven without (``ChainEnd.prove_end`` then moves it aside) or refused with
:func:`torn_refusal`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from borough.audit import records
from borough.audit.anchors import Anchor
from borough.audit.files import HEAD_NAME, complete_end
from borough.audit.head import GENESIS, Point, SignedHead
from borough.audit.keys import AuditKeys
from borough.audit.segments import Backwards, TrailFile, lines_backwards_across
from borough.errors import AuditError

VERIFY = "Run `borough audit verify` to see what changed."


@dataclass(frozen=True)
class Tail:
    """The proven end: the last record, and whether it is in the live file."""

    point: Point
    record: dict[str, Any] | None = None
    in_live: bool = False


@dataclass(frozen=True)
class Seen:
    """The last line this process wrote: its bytes, where they end, and in which file."""

    seq: int
    line: bytes
    end: int
    inode: int


def torn_message(path: Path, torn_bytes: int, after: int | None) -> str:
    where = f"after record {after}" if after else "at its start"
    return (
        f"the audit trail {path} ends with an incomplete record ({torn_bytes} bytes {where}): "
        "a writer was stopped mid-write (kill -9, power loss or a full disk). Nothing more is "
        "written until it is repaired: run `borough audit repair`, which keeps every complete "
        "record and moves the torn bytes aside"
    )


def torn_refusal(
    path: Path, fd: int, size: int, cut: int, *, closed: list[TrailFile], why: AuditError | None
) -> AuditError:
    """The writer will not mend a torn end (``cut``..``size``): ``why`` the rest does not
    prove, or (None) it ends where a segment is being closed."""
    after = _last_seq(fd, cut, closed)
    if why is None:
        return AuditError(torn_message(path, size - cut, after))
    where = f"after record {after}" if after else "at its start"
    return AuditError(
        f"the audit trail {path} ends with an incomplete record ({size - cut} bytes {where}), "
        f"and what comes before it cannot be proven, so nothing is mended or written: {why}"
    )


def prove_tail(
    fd: int,
    size: int,
    head: SignedHead | None,
    keys: AuditKeys,
    *,
    path: Path,
    anchor: Anchor | None = None,
    seen: Seen | None = None,
    seen_seq: int = 0,
    closed: list[TrailFile] | None = None,
) -> Tail:
    """The last record of the trail once proven (``GENESIS`` for an empty trail).

    ``closed``: the trail's closed segments; after a roll-over the live file is empty and
    the end is the last record of the newest one.
    """
    closed = closed or []
    wrote = max(seen_seq, seen.seq if seen else 0)
    if size == 0 and not closed:
        return Tail(_empty(path, head, anchor, wrote))
    end = complete_end(fd, size)
    if end != size:
        raise AuditError(torn_message(path, size - end, _last_seq(fd, end, closed)))
    if seen is not None:
        _check_seen(fd, size, seen, path)
    if head is None:
        raise AuditError(
            f"{HEAD_NAME} is missing, so the end of the audit trail cannot be proven (records "
            f"may have been cut off); nothing more is written. {VERIFY} If it is intact, "
            "`borough audit repair` signs it again"
        )
    floor = min(head.seq, anchor.seq if anchor else head.seq)
    tail = _read_back(fd, size, floor, closed)
    if not tail:
        return Tail(_empty(path, head, anchor, wrote))
    last = tail[-1][1]
    if last["seq"] < wrote:
        raise AuditError(
            f"the audit trail ends at record {last['seq']}, before record {wrote} that this "
            f"process wrote: it was cut or rolled back while borough was running. {VERIFY}"
        )
    if head.seq > last["seq"]:
        raise AuditError(
            f"the audit trail ends at record {last['seq']} but {HEAD_NAME} signs record "
            f"{head.seq}: records {last['seq'] + 1}-{head.seq} were cut off; nothing more is "
            f"written to a cut trail. Restore it from a backup. {VERIFY}"
        )
    by_seq = {record["seq"]: record for _, record in tail}
    signed = by_seq.get(head.seq)
    if signed is None or signed["hash"] != head.hash:
        raise AuditError(
            f"record {head.seq} is not the one {HEAD_NAME} signed: the trail was rewritten "
            f"after it was signed; nothing more is written. {VERIFY}"
        )
    _prove_unsigned(tail, head, keys)
    if anchor is not None:
        _check_anchor(anchor, last, by_seq)
    return Tail(Point(last["seq"], last["hash"]), last, tail[-1][0].file.first_seq is None)


def _empty(path: Path, head: SignedHead | None, anchor: Anchor | None, seen: int) -> Point:
    if head is not None and head.seq > 0:
        raise AuditError(
            f"the audit trail {path} is empty or missing but its signed head says record "
            f"{head.seq} was written: it was deleted or emptied. Restore it from a backup"
        )
    if seen:
        raise AuditError(
            f"the audit trail {path} is empty or missing, but this process wrote record {seen} "
            "to it: it was deleted while borough was running. Restore it from a backup"
        )
    if anchor is not None:
        raise AuditError(
            f"the audit trail {path} is empty or missing, but the ledger holds a signed anchor "
            f"for record {anchor.seq} of this machine's trail (written {anchor.ts}): it was "
            "deleted or replaced, and a new chain would hide that. Restore it from a backup; "
            'if it is lost for good, `borough audit restart --reason "..."` starts a new '
            "chain that records the loss (see docs/audit.md)"
        )
    return GENESIS


def _last_seq(fd: int, end: int, closed: list[TrailFile]) -> int | None:
    for found in lines_backwards_across(fd, end, closed):
        try:
            return int(found.line.record()["seq"])
        except records.MalformedRecord:
            return None
    return None


def _check_seen(fd: int, size: int, seen: Seen, path: Path) -> None:
    """The line this process wrote last must still be there, byte for byte."""
    if size < seen.end:
        problem = "it is shorter than"
    elif os.pread(fd, len(seen.line), seen.end - len(seen.line)) != seen.line:
        problem = "it no longer holds, at the same place,"
    else:
        return
    raise AuditError(
        f"the audit trail {path} was changed behind borough's back: {problem} record "
        f"{seen.seq} that this process wrote. Nothing more is written. {VERIFY}"
    )


def _read_back(
    fd: int, size: int, floor: int, closed: list[TrailFile]
) -> list[tuple[Backwards, dict[str, Any]]]:
    """Records from the end back to the first with seq ≤ ``floor`` (or the start), in order."""
    found: list[tuple[Backwards, dict[str, Any]]] = []
    for back in lines_backwards_across(fd, size, closed):
        try:
            record = back.line.record()
        except records.MalformedRecord as exc:
            raise AuditError(
                f"a line of the audit trail ({back.file.name}, byte {back.line.offset}) is not a "
                f"valid record ({exc}); nothing more is written. {VERIFY}"
            ) from None
        found.append((back, record))
        if record["seq"] <= floor:
            break
    found.reverse()
    return found


def _prove_unsigned(
    tail: list[tuple[Backwards, dict[str, Any]]], head: SignedHead, keys: AuditKeys
) -> None:
    """Records after the head must chain on from it and carry this installation's MAC."""
    previous = next(record for _, record in tail if record["seq"] == head.seq)
    unsigned = [record for _, record in tail if record["seq"] > head.seq]
    for record in unsigned:
        why = unproven_reason(record, previous, keys)
        if why:
            first, last = record["seq"], unsigned[-1]["seq"]
            span = f"Records {first}-{last} may be forged" if last > first else "It may be forged"
            raise AuditError(
                f"record {first}, after the last signed record {head.seq}, was not written by "
                f"this installation: {why}. {span}; nothing more is written after it. {VERIFY} "
                "Keep a copy of the trail for investigation, then `borough audit repair "
                "--quarantine-unproven` moves the unproven records aside"
            )
        previous = record


def unproven_reason(
    record: dict[str, Any], previous: dict[str, Any], keys: AuditKeys
) -> str | None:
    """Why ``record`` (following ``previous``) is not provably this installation's, if so."""
    if record["seq"] != previous["seq"] + 1 or record["prev_hash"] != previous["hash"]:
        return f"it does not follow record {previous['seq']} in the chain"
    if records.record_hash(record) != record["hash"]:
        return "its content does not match its hash"
    if record["schema"] != records.SCHEMA:
        return f"it is in the old format {record['schema']}, which carries no MAC"
    if not keys.mac_ok(record["hash"], record["mac"]):
        return "its MAC does not match this installation's key"
    return None


def _check_anchor(anchor: Anchor, last: dict[str, Any], by_seq: dict[int, Any]) -> None:
    if anchor.seq > last["seq"]:
        raise AuditError(
            f"the audit trail ends at record {last['seq']}, but the ledger holds a signed anchor "
            f"for record {anchor.seq} (written {anchor.ts}): the trail was rolled back or cut; "
            f"nothing more is written. Restore it from a backup. {VERIFY}"
        )
    if anchor.seq < min(by_seq):
        return  # purged by retention: the signed purge record accounts for it
    record = by_seq.get(anchor.seq)
    if record is None or record["hash"] != anchor.hash:
        raise AuditError(
            f"record {anchor.seq} differs from the ledger's signed anchor (written "
            f"{anchor.ts}): the trail was replaced or rewritten; nothing more is written. "
            f"{VERIFY}"
        )
