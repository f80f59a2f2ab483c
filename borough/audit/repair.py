"""``borough audit repair`` and ``borough audit restart``: the documented ways back to a
trail the writer accepts, each leaving a signed record of what it did.

*Repair* keeps every complete record: it moves a torn last record (a writer stopped
mid-write) and, only when asked, records after the signed head that the installation
cannot prove as its own, into a private quarantine file, then appends a signed
``audit.repaired`` record naming their size and SHA-256. A missing or damaged head is
signed again only when every record's MAC and the ledger's anchors prove the trail. The
next writer does the torn part by itself (:func:`mend_torn_end`) when what comes before
the torn line proves.

*Restart* is break-glass: when the trail is lost or cannot be repaired, it moves what is
left aside and starts a new chain whose first record, signed ``audit.restarted``, names
the lost chain's last anchor; the ledger records a restart anchor so writers accept it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loguru import logger

from borough.audit import records
from borough.audit.chain import ChainSink, checkpoint_fields
from borough.audit.files import (
    QUARANTINE_NAME,
    complete_end,
    private_dir,
    write_private,
)
from borough.audit.guard import prove_tail, unproven_reason
from borough.audit.head import GENESIS, HeadUnreadable, Point, SignedHead, read_head
from borough.audit.segments import SEGMENTS_DIR, Backwards, lines_backwards_across
from borough.audit.verify import verify_file
from borough.errors import AuditError


@dataclass
class RepairReport:
    reasons: list[str] = field(default_factory=list)
    removed_bytes: int = 0
    removed_records: int = 0
    removed_sha256: str | None = None
    quarantine: Path | None = None
    kept_through: int = 0
    record_seq: int | None = None  #: the ``audit.repaired`` record, if one was written

    @property
    def repaired(self) -> bool:
        return bool(self.reasons)


def repair(
    sink: ChainSink, context: dict[str, Any], *, quarantine_unproven: bool = False
) -> RepairReport:
    """Bring the trail back to a state its writer accepts (see the module docstring)."""
    report = RepairReport()
    with sink.exclusive():
        cut, size = _mend_last_line(sink, report)
        head = _head(sink)
        if isinstance(head, SignedHead):
            cut = _after_head(sink, head, cut, quarantine_unproven, report)
        else:
            _prove_without_head(sink, head)
            report.reasons.append(head)
        last = _last_record(sink, cut)
        end = Point(last["seq"], last["hash"]) if last else GENESIS
        report.kept_through = end.seq
        if not report.reasons:
            return report
        _record_repair(sink, context, report, end=end, cut=cut, size=size)
    return report


def mend_torn_end(sink: ChainSink, context: dict[str, Any]) -> RepairReport:
    """The writer's own repair, under its lock, of a live file ending with an incomplete
    line after a part it has just proven (``ChainEnd.prove_end``): what :func:`repair`
    does with a torn end, with ``borough`` as the record's actor, and a warning naming
    the quarantine file."""
    report = RepairReport()
    cut, size = _mend_last_line(sink, report)
    last = _last_record(sink, cut)
    end = Point(last["seq"], last["hash"]) if last else GENESIS
    report.kept_through = end.seq
    _record_repair(sink, {**context, "actor": None}, report, end=end, cut=cut, size=size)
    if report.quarantine is not None:
        logger.bind(action=records.REPAIRED).warning(
            "the audit trail {} ended with an incomplete record ({} bytes after record {}): a "
            "writer was stopped mid-write. The torn bytes were moved to {} (sha256 {}), every "
            "complete record is kept, and signed record {} records the repair",
            sink.path,
            report.removed_bytes,
            end.seq,
            report.quarantine,
            report.removed_sha256,
            report.record_seq,
        )
    else:
        logger.bind(action=records.REPAIRED).warning(
            "the audit trail {} ended with record {} missing only its newline (a writer was "
            "stopped mid-write): the newline was added, and signed record {} records it",
            sink.path,
            end.seq,
            report.record_seq,
        )
    return report


def _mend_last_line(sink: ChainSink, report: RepairReport) -> tuple[int, int]:
    """(where the complete records end, the file's size), once a last record missing only
    its newline has it; a torn last line is noted in ``report``, to be moved aside."""
    fd = sink.fd
    size = os.fstat(fd).st_size
    cut = complete_end(fd, size)
    if cut != size and _completes_last_record(sink, cut, size):
        os.write(fd, b"\n")
        os.fsync(fd)
        report.reasons.append("newline-missing")
        return size + 1, size + 1
    if cut != size:
        report.reasons.append("torn")
    return cut, size


def _record_repair(
    sink: ChainSink,
    context: dict[str, Any],
    report: RepairReport,
    *,
    end: Point,
    cut: int,
    size: int,
) -> None:
    """Move the bytes after ``cut`` aside, then append the signed ``audit.repaired``."""
    if cut != size:
        _quarantine(sink, cut, size, end.seq, report)
        os.ftruncate(sink.fd, cut)
        os.fsync(sink.fd)
    fields = {**checkpoint_fields(context, reason="repair"), "action": records.REPAIRED}
    fields["actor"] = context.get("actor") or "borough"
    fields["detail"] = {
        "reasons": report.reasons,
        "removed_bytes": report.removed_bytes,
        "removed_records": report.removed_records,
        "removed_sha256": report.removed_sha256,
        "quarantine": report.quarantine.name if report.quarantine else None,
        "kept_through_seq": end.seq,
    }
    written = sink.append_locked([fields], proven=(end, cut), allow_checkpoint=False)
    report.record_seq = written[0]["seq"]


def _completes_last_record(sink: ChainSink, cut: int, size: int) -> bool:
    """The torn bytes are a whole record but for its newline (and chain on, MAC and all)."""
    try:
        record = records.parse_line(os.pread(sink.fd, size - cut, cut))
        previous = _last_record(sink, cut) or {"seq": 0, "hash": records.GENESIS_HASH}
    except (records.MalformedRecord, AuditError):
        return False
    return unproven_reason(record, previous, sink.keys) is None


def _last_record(sink: ChainSink, end: int) -> dict[str, Any] | None:
    for back in lines_backwards_across(sink.fd, end, sink.roller.closed()):
        try:
            return back.line.record()
        except records.MalformedRecord as exc:
            raise AuditError(
                f"the audit trail has a damaged line ({back.file.name}, byte {back.line.offset}: "
                f"{exc}): repair "
                "mends only its end. Run `borough audit verify`; restore the trail from a "
                "backup, or see `borough audit restart`"
            ) from None
    return None


def _head(sink: ChainSink) -> SignedHead | str:
    try:
        head = read_head(sink.head_path)
    except HeadUnreadable:
        return "head-damaged"
    if head is None:
        return "head-missing"
    if not head.signature_ok(sink.keys):
        return "head-foreign"
    return head


def _after_head(
    sink: ChainSink, head: SignedHead, cut: int, quarantine_unproven: bool, report: RepairReport
) -> int:
    """Cut back to the last record provably the installation's; refuse anything else."""
    tail: list[tuple[Backwards, dict[str, Any] | None, str | None]] = []
    for back in lines_backwards_across(sink.fd, cut, sink.roller.closed()):
        try:
            record: dict[str, Any] | None = back.line.record()
        except records.MalformedRecord as exc:
            if back.file.closed:
                raise AuditError(
                    f"the closed segment {back.file.name} has a damaged line (byte "
                    f"{back.line.offset}: {exc}): repair mends only the live file's end. Run "
                    "`borough audit verify`; restore the segment from a backup"
                ) from None
            tail.append((back, None, f"it is not a valid record ({exc})"))
            continue
        tail.append((back, record, None))
        if record is not None and record["seq"] <= head.seq:
            break
    tail.reverse()
    if tail and tail[0][1] is not None and tail[0][1]["seq"] == head.seq:
        previous = tail[0][1]
        for index, (back, record, damage) in enumerate(tail[1:], start=1):
            why = damage or unproven_reason(record or {}, previous, sink.keys)
            if why is None and record is not None:
                previous = record
                continue
            seq = previous["seq"] + 1
            if not quarantine_unproven:
                raise AuditError(
                    f"record {seq}, after the last signed record {head.seq}, was not written by "
                    f"this installation ({why}). Keep a copy of the trail for investigation, "
                    "then run `borough audit repair --quarantine-unproven` to move the "
                    "unproven records aside"
                )
            if back.file.closed:
                raise AuditError(
                    f"record {seq}, in the closed segment {back.file.name}, cannot be proven "
                    f"({why}); repair mends only the live file. Run `borough audit verify`"
                )
            report.removed_records = len(tail) - index
            report.reasons.append("unproven")
            cut = back.line.offset
            break
    prove_tail(
        sink.fd,
        cut,
        head,
        sink.keys,
        path=sink.path,
        anchor=sink.latest_anchor(),
        closed=sink.roller.closed(),
    )
    return cut


def _prove_without_head(sink: ChainSink, why: str) -> None:
    """No usable head: every record's MAC and the ledger's anchors must prove the trail."""
    store = sink.anchor_store()
    anchors = store.since_restart(sink.trail_id) if store is not None else []
    verdict = verify_file(
        sink.folder,
        sink.keys,
        anchors=anchors,
        require_head=False,
        allow_torn=True,
        take_lock=False,
    )
    if verdict.problem is not None:
        problem = verdict.problem
        raise AuditError(
            f"{sink.head_path.name} is {why.removeprefix('head-')} and the trail cannot be "
            f"proven without it ({problem.kind} at record {problem.seq}: {problem.message}). "
            "Restore the trail from a backup, or see `borough audit restart`"
        )


def _quarantine(sink: ChainSink, cut: int, size: int, after: int, report: RepairReport) -> None:
    data = os.pread(sink.fd, size - cut, cut)
    folder = sink.folder / QUARANTINE_NAME
    private_dir(folder)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"audit-{stamp}-after-{after}.part"
    write_private(target, data)
    report.removed_bytes = len(data)
    report.removed_sha256 = hashlib.sha256(data).hexdigest()
    report.quarantine = target


def _digest_file(path: Path, digest: Any) -> int:
    """Feed ``path`` into ``digest`` block by block; returns its size."""
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return size


@dataclass(frozen=True)
class RestartReport:
    refusal: str  #: why the writer would not append to the old trail
    moved_to: Path | None
    lost_bytes: int
    last_anchor: dict[str, Any] | None
    record_seq: int


def restart(sink: ChainSink, context: dict[str, Any], reason: str) -> RestartReport:
    """Break-glass: start a new chain recording the loss of the old one (see module doc)."""
    if not reason.strip():
        raise AuditError("say why the trail is restarted (--reason): it goes into the trail")
    with sink.exclusive():
        try:
            sink.prove_end(force=True, mend=False)
        except AuditError as refusal:
            why = str(refusal)
        else:
            raise AuditError(
                "the audit trail is intact and borough can write to it: there is nothing to "
                "restart (`borough audit verify` shows its state)"
            )
        anchor = sink.latest_anchor()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        lost = sink.folder / QUARANTINE_NAME / f"lost-{stamp}"
        private_dir(lost)
        lost_bytes, digest = 0, hashlib.sha256()
        for segment in sink.roller.closed():
            lost_bytes += _digest_file(segment.path, digest)
        for path in (sink.path, sink.head_path):
            if path.exists():
                if path == sink.path:
                    lost_bytes += _digest_file(path, digest)
                os.replace(path, lost / path.name)
        if (sink.folder / SEGMENTS_DIR).exists():
            os.replace(sink.folder / SEGMENTS_DIR, lost / SEGMENTS_DIR)
        sink.reopen()
        sink.reset_after_rewrite(0, GENESIS)
        last_anchor = {"seq": anchor.seq, "hash": anchor.hash, "ts": anchor.ts} if anchor else None
        fields = {**checkpoint_fields(context, reason="restart"), "action": records.RESTARTED}
        fields["actor"] = context.get("actor") or "borough"
        fields["detail"] = {
            "reason": reason.strip(),
            "refusal": why,
            "lost_chain_last_anchor": last_anchor,
            "lost_bytes": lost_bytes,
            "lost_sha256": digest.hexdigest() if lost_bytes else None,
            "moved_to": f"{QUARANTINE_NAME}/{lost.name}",
        }
        written = sink.append_locked([fields], proven=(GENESIS, 0), allow_checkpoint=False)
    return RestartReport(why, lost, lost_bytes, last_anchor, written[0]["seq"])
