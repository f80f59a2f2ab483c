"""Reading a trail's files in order (every segment, then the live file), and writing
records out as CSV or JSON Lines a chunk at a time.

Readers never write and never fail on a torn last record (a writer stopped mid-write):
they read every complete record and say the trail needs ``borough audit repair``. A line
that is not a record stops them with an :class:`~borough.errors.AuditError` naming it.
People-facing queries go through the index instead (:mod:`borough.audit.browse`); these
whole-trail readers serve tests, tools and ``audit reindex``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from borough.audit import records
from borough.audit.files import LOG_NAME, Scan
from borough.audit.segments import trail_files
from borough.errors import AuditError
from borough.formulas import csv_safe

EXPORT_COLUMNS = [f for f in records.FIELDS if f != "signature"]
_CHUNK = 64 * 1024


@dataclass
class TrailReader:
    """Iterates a trail's records; afterwards ``torn_bytes`` says if its end was torn."""

    folder: Path
    torn_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        scan = Scan(self.folder / LOG_NAME)
        for file in trail_files(self.folder):
            scan = Scan(file.path)
            with closing(scan.lines()) as lines:
                for number, line in lines:
                    try:
                        record = line.record()
                    except records.MalformedRecord as exc:
                        raise AuditError(
                            f"line {number} of {file.path} is not an audit record ({exc}); run "
                            "`borough audit verify`"
                        ) from None
                    yield record
        if scan.torn is not None:
            self.torn_bytes = len(scan.torn.raw)
            self.notes.append(
                f"the trail ends with an incomplete record ({self.torn_bytes} bytes, a writer "
                "stopped mid-write): every complete record was read; run `borough audit "
                "repair` to set it right"
            )


def iter_records(folder: Path) -> Iterator[dict[str, Any]]:
    """Every complete record in order (a torn last record is skipped)."""
    return iter(TrailReader(folder))


def in_range(
    source: Path | TrailReader, since: datetime | None = None, until: datetime | None = None
) -> Iterator[dict[str, Any]]:
    for record in _records(source):
        ts = records.parse_ts(record["ts"])
        if since is not None and ts < since:
            continue
        if until is not None and ts >= until:
            continue
        yield record


def about_subject(source: Path | TrailReader, token: str) -> Iterator[dict[str, Any]]:
    """Every record about the person with ``token`` (as item key or as a subject)."""
    for record in _records(source):
        if record.get("item") == token or token in (record.get("subjects") or []):
            yield record


def _records(source: Path | TrailReader) -> Iterator[dict[str, Any]]:
    return iter(source if isinstance(source, TrailReader) else TrailReader(source))


def export_chunks(rows: Iterator[dict[str, Any]], fmt: str) -> Iterator[str]:
    """CSV (lists and objects as JSON text, formula-like text made inert) or JSONL exactly
    as stored, about 64 KB at a time: an export of any size streams in constant memory."""
    buffer = io.StringIO()
    writer = None
    if fmt != "jsonl":
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
    for row in rows:
        if writer is None:
            buffer.write(records.canonical_json(row) + "\n")
        else:
            writer.writerow(csv_row(row))
        if buffer.tell() >= _CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """No cell may be a live formula when the file is opened in a spreadsheet."""
    return {
        key: csv_safe(
            json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
        )
        for key, value in row.items()
    }


class Counted:
    """Counts the rows that pass through (for "N records written")."""

    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self._rows:
            self.count += 1
            yield row


def write_export(rows: Iterator[dict[str, Any]], out: TextIO, fmt: str) -> int:
    """Write ``rows`` to ``out`` (see :func:`export_chunks`); returns the count."""
    counted = Counted(rows)
    for chunk in export_chunks(iter(counted), fmt):
        out.write(chunk)
    return counted.count


def export_text(rows: Iterator[dict[str, Any]], fmt: str) -> str:
    return "".join(export_chunks(rows, fmt))
