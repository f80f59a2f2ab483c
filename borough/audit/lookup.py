"""Finding recent records by reading the audit trail backwards from its end.

The reaper asks whether a dead run already wrote its ``run.end`` (killed between the record
and the ledger's commit): the answer is near the end of the file, so it is read from the
end in blocks, and the search stops at the run's ``run.start`` or at records older than
the run. Torn or unreadable lines are skipped here; ``audit verify`` reports them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

BLOCK = 64 * 1024
RUN_END = "run.end"
RUN_START = "run.start"
CHECKPOINT = "audit.checkpoint"
#: How much earlier than a run's start a record of it may be stamped (clock steps).
CLOCK_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class RunEnd:
    """A run's ``run.end`` record, and the seq of the checkpoint that followed it (if any)."""

    seq: int  #: the run's last record: its run-end checkpoint, else run.end itself
    outcome: str
    error: str | None
    counts: dict[str, int] = field(default_factory=dict)
    ts: datetime | None = None


def lines_backwards(path: Path, block: int = BLOCK) -> Iterator[bytes]:
    """The non-empty lines of ``path``, last first."""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        pos = handle.tell()
        tail = b""
        while pos > 0:
            step = min(block, pos)
            pos -= step
            handle.seek(pos)
            data = handle.read(step) + tail
            lines = data.split(b"\n")
            tail = lines[0]
            for line in reversed(lines[1:]):
                if line.strip():
                    yield line
        if tail.strip():
            yield tail


def records_backwards(path: Path) -> Iterator[dict[str, Any]]:
    """Parsed records of ``path``, last first; lines that are not a JSON object are skipped."""
    if not path.exists():
        return
    for line in lines_backwards(path):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def find_run_end(path: Path, run_id: str, *, since: datetime | None = None) -> RunEnd | None:
    """The ``run.end`` of ``run_id`` if it is the run's last record (bar its checkpoint).

    ``since`` (the run's start) bounds the search: older records are not read.
    """
    oldest = since - CLOCK_SLACK if since is not None else None
    checkpoint_seq: int | None = None
    for record in records_backwards(path):
        if oldest is not None and _before(record.get("ts"), oldest):
            return None
        if record.get("run_id") != run_id:
            continue
        action = record.get("action")
        if action == CHECKPOINT:
            if checkpoint_seq is None:
                checkpoint_seq = _int(record.get("seq"))
            continue
        if action != RUN_END:
            return None  # the run.start, or something the run did after any end
        detail = record.get("detail")
        counts = detail.get("counts") if isinstance(detail, dict) else None
        if not isinstance(counts, dict):
            counts = {}
        seq = checkpoint_seq if checkpoint_seq is not None else _int(record.get("seq"))
        return RunEnd(
            seq=seq or 0,
            outcome=str(record.get("outcome")),
            error=record.get("error"),
            counts={k: v for k, v in counts.items() if isinstance(v, int)},
            ts=_parse(record.get("ts")),
        )
    return None


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _before(text: Any, moment: datetime) -> bool:
    parsed = _parse(text)
    return parsed is not None and parsed < moment


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None
