"""Reading the trail for people: by time range (export) or by person token (SAR).

Readers never write and never fail on a torn last record (a writer stopped mid-write):
they read every complete record and say the trail needs ``borough audit repair``. A line
that is not a record stops them with an :class:`~borough.errors.AuditError` naming it.
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
from borough.errors import AuditError
from borough.formulas import csv_safe

EXPORT_COLUMNS = [f for f in records.FIELDS if f != "signature"]


@dataclass
class TrailReader:
    """Iterates a trail's records; afterwards ``torn_bytes`` says if its end was torn."""

    folder: Path
    torn_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        scan = Scan(self.folder / LOG_NAME)
        with closing(scan.lines()) as lines:
            for number, line in lines:
                try:
                    record = line.record()
                except records.MalformedRecord as exc:
                    raise AuditError(
                        f"line {number} of {self.folder / LOG_NAME} is not an audit record "
                        f"({exc}); run `borough audit verify`"
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


def write_export(rows: Iterator[dict[str, Any]], out: TextIO, fmt: str) -> int:
    """CSV (lists and objects as JSON text, formula-like text made inert) or JSONL exactly
    as stored; returns the count."""
    count = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(records.canonical_json(row) + "\n")
            count += 1
        return count
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        flat = {  # no cell may be a live formula when the file is opened in a spreadsheet
            key: csv_safe(
                json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
            )
            for key, value in row.items()
        }
        writer.writerow(flat)
        count += 1
    return count


def export_text(rows: Iterator[dict[str, Any]], fmt: str) -> str:
    buffer = io.StringIO()
    write_export(rows, buffer, fmt)
    return buffer.getvalue()
