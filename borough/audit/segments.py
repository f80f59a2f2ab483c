"""The trail's segment files: the live ``audit.jsonl`` and the closed ``segments/*.jsonl``.

A writer rolls the live file over (by size and/or by day): it appends a signed checkpoint
that closes the segment (its first and last record, the SHA-256 of its bytes before that
checkpoint, and the first record and file name of the next segment), then renames the file
to ``segments/<first seq, 12 digits>.jsonl`` and starts an empty ``audit.jsonl``. Closed
segments never change again, so retention removes whole segments and one segment can be
verified knowing only the last hash of the one before it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from borough.audit import records
from borough.audit.files import LOG_NAME, Line, lines_backwards

SEGMENTS_DIR = "segments"
SEGMENT_CLOSED = "segment closed"  #: the ``reason`` of a closing checkpoint's detail
_NAME = re.compile(r"^(\d{12})\.jsonl$")
_BLOCK = 1 << 20


def segment_name(first_seq: int) -> str:
    """The closed segment's path relative to the trail's folder."""
    return f"{SEGMENTS_DIR}/{first_seq:012d}.jsonl"


@dataclass(frozen=True)
class TrailFile:
    """One file of a trail, in order: closed segments first (by first seq), live file last."""

    path: Path
    first_seq: int | None  #: from a closed segment's name; None for the live file

    @property
    def closed(self) -> bool:
        return self.first_seq is not None

    @property
    def name(self) -> str:
        return LOG_NAME if self.first_seq is None else segment_name(self.first_seq)


def closed_segments(folder: Path) -> list[TrailFile]:
    """Closed segments by first seq; files whose names are not ``<12 digits>.jsonl`` are not
    part of the trail (a verify lists them as notes)."""
    found = []
    try:
        entries = list(os.scandir(folder / SEGMENTS_DIR))
    except FileNotFoundError:
        return []
    for entry in entries:
        match = _NAME.match(entry.name)
        if match and entry.is_file():
            found.append(TrailFile(Path(entry.path), int(match.group(1))))
    return sorted(found, key=lambda f: f.first_seq or 0)


def stray_files(folder: Path) -> list[str]:
    """Files in ``segments/`` that are not segments (left by hand, or half-renamed)."""
    try:
        names = os.listdir(folder / SEGMENTS_DIR)
    except FileNotFoundError:
        return []
    return sorted(f"{SEGMENTS_DIR}/{n}" for n in names if not _NAME.match(n))


def trail_files(folder: Path) -> list[TrailFile]:
    """Every file of the trail in order; the live file is always last (it may not exist)."""
    return [*closed_segments(folder), TrailFile(folder / LOG_NAME, None)]


def numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes)`` of a file; a last line without newline is yielded too (the
    caller tells a torn end from a record by the missing newline)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        yield from enumerate(handle, start=1)


def closing_detail(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``segment`` part of a checkpoint that closes a segment, if ``record`` is one."""
    if record is None or record.get("action") != records.CHECKPOINT:
        return None
    detail = record.get("detail")
    if not isinstance(detail, dict) or detail.get("reason") != SEGMENT_CLOSED:
        return None
    segment = detail.get("segment")
    return segment if isinstance(segment, dict) else None


def sha256_prefix(path: Path, length: int) -> str:
    """SHA-256 of the first ``length`` bytes of ``path``, read sequentially in large blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        left = length
        while left > 0:
            block = handle.read(min(_BLOCK, left))
            if not block:
                break
            digest.update(block)
            left -= len(block)
    return digest.hexdigest()


def last_line(path: Path) -> Line | None:
    """The last complete line of ``path`` (None if it has none)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        data_end = size if size and os.pread(fd, 1, size - 1) == b"\n" else None
        if data_end is None:
            return None
        return next(lines_backwards(fd, data_end), None)
    finally:
        os.close(fd)


def first_line(path: Path) -> bytes | None:
    """The first line of ``path`` (with its newline), None when empty or missing."""
    try:
        with path.open("rb") as handle:
            line = handle.readline()
    except FileNotFoundError:
        return None
    return line if line.endswith(b"\n") else None


@dataclass(frozen=True)
class Backwards:
    """A complete line read backwards across files: which file, and the line."""

    file: TrailFile
    line: Line


def lines_backwards_across(
    live_fd: int, live_end: int, closed: list[TrailFile]
) -> Iterator[Backwards]:
    """Complete lines from the live file's ``live_end`` back, then each closed segment's."""
    live = TrailFile(Path(LOG_NAME), None)
    for line in lines_backwards(live_fd, live_end):
        yield Backwards(live, line)
    for segment in reversed(closed):
        try:
            fd = os.open(segment.path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            size = os.fstat(fd).st_size
            for line in lines_backwards(fd, size):
                yield Backwards(segment, line)
        finally:
            os.close(fd)
