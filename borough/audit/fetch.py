"""Reading records the index points at: seek into the segment file, read one line.

Each writer's trail lives in its own folder: this machine's in ``logs/audit``, other
machines' where ``audit.trails`` in borough.yaml (or the writer's registration) says they
can be read from here. A record whose trail cannot be read here is shown from its index
row alone, with a note; a line that is not the record the index names means the index is
out of date (``borough audit reindex``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from borough.audit import records
from borough.audit.files import LOG_NAME
from borough.audit.indexrows import IndexRow
from borough.audit.records import Quick
from borough.audit.segments import segment_name
from borough.errors import AuditError

_OPEN_FILES = 16


@dataclass
class TrailFolders:
    """Where each writer's trail can be read from this machine."""

    local_trail: str
    local_folder: Path
    configured: Mapping[str, Path] = field(default_factory=dict)
    registered: Callable[[], Mapping[str, str]] | None = None
    _registered: Mapping[str, str] | None = None

    def folder(self, trail: str) -> Path | None:
        if trail == self.local_trail:
            return self.local_folder
        if trail in self.configured:
            return self.configured[trail]
        if self._registered is None:
            self._registered = self.registered() if self.registered else {}
        found = self._registered.get(trail)
        if found and (Path(found) / LOG_NAME).exists():
            return Path(found)
        return None

    def reachable(self, trails: Iterable[str]) -> dict[str, Path]:
        found = {}
        for trail in trails:
            folder = self.folder(trail)
            if folder is not None and folder.is_dir():
                found[trail] = folder
        return found


class Fetcher:
    """Reads full records for index rows; keeps a few files open while it is used."""

    def __init__(self, folders: TrailFolders) -> None:
        self._folders = folders
        self._open: dict[Path, int] = {}
        self._paths: dict[tuple[Path, int], tuple[Path, Path]] = {}
        self.unreachable: set[str] = set()  #: trails whose records were shown from the index

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()

    def record(self, row: IndexRow) -> dict[str, Any]:
        """The record ``row`` points at (its index fields only, if its file is not here)."""
        folder = self._folders.folder(row.trail)
        if folder is None:
            self.unreachable.add(row.trail)
            return row.summary()
        raw, found = self._read(folder, row)
        if raw is not None and found is not None and found.hash == row.hash:
            record: dict[str, Any] = json.loads(raw)
            return record
        try:
            record = records.parse_line(raw) if raw is not None else {}
        except records.MalformedRecord:
            record = {}
        if record.get("hash") != row.hash or record.get("seq") != row.seq:
            raise AuditError(
                f"the audit index is out of date: record {row.seq} of {row.trail}'s trail is not "
                f"where the index says ({segment_name(row.segment)}, byte {row.offset}). Run "
                "`borough audit reindex`, then `borough audit verify`"
            )
        return record

    def records(self, rows: Iterable[IndexRow]) -> Iterator[dict[str, Any]]:
        for row in rows:
            yield self.record(row)

    def notes(self) -> list[str]:
        return [
            f"the trail of {trail} cannot be read from this machine: its records show only what "
            f"the index holds (set audit.trails.{trail} in borough.yaml to its folder, or verify "
            "an export shipped from it)"
            for trail in sorted(self.unreachable)
        ]

    def _read(self, folder: Path, row: IndexRow) -> tuple[bytes | None, Quick | None]:
        """The line at ``row``'s place (in its closed segment, or the live file if it is not
        closed yet), and its chain fields when its bytes match its hash."""
        paths = self._paths.get((folder, row.segment))
        if paths is None:
            paths = (folder / segment_name(row.segment), folder / LOG_NAME)
            self._paths[(folder, row.segment)] = paths
        for path in paths:
            fd = self._fd(path)
            if fd is None:
                continue
            raw = os.pread(fd, row.length, row.offset)
            if len(raw) == row.length and raw.endswith(b"\n"):
                found = records.quick(raw)
                if found is None or found.seq == row.seq:
                    return raw, found
        return None, None

    def _fd(self, path: Path) -> int | None:
        fd = self._open.get(path)
        if fd is not None:
            return fd
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        if len(self._open) >= _OPEN_FILES:
            oldest = next(iter(self._open))
            os.close(self._open.pop(oldest))
        self._open[path] = fd
        return fd
