"""Retention inside the trail: sign, record a signed purge, then drop the older records.

The remaining chain starts at the first kept record; the purge record names the last
purged record's seq and hash, so ``audit verify`` can still prove nothing else changed.
A segmented trail drops whole closed segments (every record in them older than the
cut-off); the live file is never rewritten then. A trail that has no closed segment yet
(written before segments existed) is rewritten without its older records, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from borough.audit import records
from borough.audit.chain import ChainSink, checkpoint_fields
from borough.audit.files import Scan, replace_private
from borough.audit.head import Point
from borough.audit.rolling import sync_folder
from borough.audit.segments import SEGMENTS_DIR, TrailFile, closing_detail, last_line


@dataclass(frozen=True)
class PurgeResult:
    purged_records: int
    purged_through_seq: int | None
    kept_records: int


def purge_before(sink: ChainSink, cutoff_ts: str, context: dict[str, Any]) -> PurgeResult:
    """Drop records older than ``cutoff_ts`` (the chain stays verifiable)."""
    with sink.exclusive():
        end = sink.prove_end()
        if sink.roller.closed():
            return _drop_segments(sink, cutoff_ts, context)
        last_old: dict[str, Any] | None = None
        purged = 0
        with closing(Scan(sink.path).lines()) as lines:
            for _, line in lines:
                record = line.record()
                if record["ts"] >= cutoff_ts:
                    break
                last_old = record
                purged += 1
        if last_old is None:
            return PurgeResult(0, None, end.seq)
        _record_purge(sink, context, cutoff_ts, purged, last_old)
        kept = rewrite_from(sink, last_old["seq"] + 1)
        sink.resign_head()
        return PurgeResult(purged, int(last_old["seq"]), kept)


def _record_purge(
    sink: ChainSink,
    context: dict[str, Any],
    cutoff_ts: str,
    purged: int,
    last_old: dict[str, Any],
    **more: Any,
) -> None:
    sink.write_batch(
        [
            checkpoint_fields(context, reason="before retention purge"),
            {
                **checkpoint_fields(context, reason="retention purge"),
                "action": records.PURGE,
                "detail": {
                    "cutoff": cutoff_ts,
                    "purged_records": purged,
                    "purged_through_seq": last_old["seq"],
                    "purged_through_hash": last_old["hash"],
                    **more,
                },
            },
        ],
        allow_checkpoint=False,
    )


def _drop_segments(sink: ChainSink, cutoff_ts: str, context: dict[str, Any]) -> PurgeResult:
    """Remove the closed segments whose every record is older than ``cutoff_ts``."""
    closed = sink.roller.closed()
    drop: list[tuple[TrailFile, dict[str, Any]]] = []
    for segment in closed:
        line = last_line(segment.path)
        last = line.record() if line else None
        closing = closing_detail(last)
        newest = closing.get("last_ts") if closing else None
        if last is None or str(newest or last["ts"]) >= cutoff_ts:
            break
        drop.append((segment, last))
    end = sink.end
    if not drop:
        return PurgeResult(0, None, end.seq - (closed[0].first_seq or 1) + 1)
    last_old = drop[-1][1]
    purged = int(last_old["seq"]) - (closed[0].first_seq or 1) + 1
    names = [segment.name for segment, _ in drop]
    _record_purge(sink, context, cutoff_ts, purged, last_old, segments=names)
    for segment, _ in drop:
        segment.path.unlink()
    sync_folder(sink.folder / SEGMENTS_DIR)
    sink.roller.forget()
    return PurgeResult(purged, int(last_old["seq"]), sink.end.seq - int(last_old["seq"]))


def rewrite_from(sink: ChainSink, first_seq: int) -> int:
    """Replace the log by its records from ``first_seq`` on (atomic rename), under the lock."""
    kept, size, last = 0, 0, sink.end

    def from_first() -> Iterator[bytes]:
        nonlocal kept, size, last
        for _, line in Scan(sink.path).lines():
            record = line.record()
            if record["seq"] >= first_seq:
                kept, size = kept + 1, size + len(line.raw)
                last = Point(record["seq"], record["hash"])
                yield line.raw

    replace_private(sink.path, from_first())
    sink.reopen()
    sink.reset_after_rewrite(size, last)
    return kept
