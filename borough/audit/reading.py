"""Reading the trail for people: by time range (export) or by person token (SAR)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from borough.audit import records
from borough.audit.chain import LOG_NAME
from borough.formulas import csv_safe

EXPORT_COLUMNS = [f for f in records.FIELDS if f != "signature"]


def iter_records(folder: Path) -> Iterator[dict[str, Any]]:
    log = folder / LOG_NAME
    if not log.exists():
        return
    with log.open(encoding="utf-8") as handle:
        for text in handle:
            if text.strip():
                yield json.loads(text)


def in_range(
    folder: Path, since: datetime | None = None, until: datetime | None = None
) -> Iterator[dict[str, Any]]:
    for record in iter_records(folder):
        ts = records.parse_ts(record["ts"])
        if since is not None and ts < since:
            continue
        if until is not None and ts >= until:
            continue
        yield record


def about_subject(folder: Path, token: str) -> Iterator[dict[str, Any]]:
    """Every record about the person with ``token`` (as item key or as a subject)."""
    for record in iter_records(folder):
        if record.get("item") == token or token in (record.get("subjects") or []):
            yield record


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
