"""The trail's files on disk: names, private modes, and reading lines (forwards and back).

A record is one line ending in ``\\n``, written by a single ``write``; a last line without
its newline is a *torn* record (the writer was stopped mid-write), which readers report
instead of failing on.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from borough.audit import records

LOG_NAME = "audit.jsonl"
HEAD_NAME = "audit.head"
PUBLIC_KEY_NAME = "audit.pub"
QUARANTINE_NAME = "quarantine"
FILE_MODE = 0o600
DIR_MODE = 0o700
_BLOCK = 65536


def private_dir(folder: Path) -> None:
    """Create ``folder`` (0700) or narrow an existing one we own; silent where we cannot."""
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _narrow(folder, DIR_MODE)


def private_fd(fd: int) -> None:
    st = os.fstat(fd)
    if stat.S_IMODE(st.st_mode) & ~FILE_MODE and st.st_uid == os.geteuid():
        os.fchmod(fd, FILE_MODE)


def _narrow(path: Path, mode: int) -> None:
    try:
        st = path.stat()
        if stat.S_IMODE(st.st_mode) & ~mode and st.st_uid == os.geteuid():
            path.chmod(stat.S_IMODE(st.st_mode) & mode)
    except OSError:
        pass


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until all of ``data`` is written (a short write raises on the next)."""
    written = os.write(fd, data)
    if written == len(data):
        return
    view = memoryview(data)[written:]
    while view:
        view = view[os.write(fd, view) :]


def replace_private(path: Path, lines: Iterable[bytes]) -> None:
    """Replace ``path`` by ``lines`` (0600): temp file, fsync, rename (safe between processes)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        for data in lines:
            write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)


def write_private(path: Path, data: bytes) -> None:
    """Write a small file (0600) in one go."""
    replace_private(path, [data])


def write_failure(exc: OSError, path: Path) -> str:
    """An operator's sentence for a failed write of the trail at ``path``."""
    folder = path.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what = "no space left" if exc.errno == errno.ENOSPC else "the disk quota is used up"
        return (
            f"the audit trail cannot be written: {what} on the disk holding {folder}. Nothing "
            "was recorded and the action was not taken; free space, then run it again (records "
            "already written are kept)"
        )
    if exc.errno == errno.EROFS:
        return (
            f"the audit trail cannot be written: {folder} is on a read-only file system. "
            "Nothing was recorded and the action was not taken; remount it read-write "
            "(read-only commands such as `borough audit verify` still work)"
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f"the audit trail cannot be written: no permission to write in {folder} (run "
            "borough as the user that owns it). Nothing was recorded"
        )
    return (
        f"the audit trail cannot be written at {path}: {exc.strerror or exc}. Nothing was "
        "recorded and the action was not taken"
    )


@dataclass(frozen=True)
class Line:
    """One complete line of the trail: where it starts, its bytes (newline included)."""

    offset: int
    raw: bytes

    @property
    def end(self) -> int:
        return self.offset + len(self.raw)

    def record(self) -> dict[str, Any]:
        return records.parse_line(self.raw)


def complete_end(fd: int, size: int) -> int:
    """Offset just after the last ``\\n`` (0 if none): where the torn bytes, if any, begin."""
    pos = size
    while pos > 0:
        step = min(_BLOCK, pos)
        pos -= step
        chunk = os.pread(fd, step, pos)
        index = chunk.rfind(b"\n")
        if index != -1:
            return pos + index + 1
    return 0


def lines_backwards(fd: int, end: int) -> Iterator[Line]:
    """Complete lines ending at or before ``end`` (a line boundary), last first."""
    pos = end
    buffer = b""
    while buffer or pos > 0:
        cut = buffer.rfind(b"\n", 0, len(buffer) - 1) if buffer else -1
        if cut == -1 and pos > 0:
            step = min(_BLOCK, pos)
            pos -= step
            buffer = os.pread(fd, step, pos) + buffer
            continue
        start = cut + 1
        yield Line(pos + start, buffer[start:])
        buffer = buffer[:start]


@dataclass
class Scan:
    """Forward reading of a trail file; ``torn`` is set once the end is reached."""

    path: Path
    torn: Line | None = None

    def lines(self) -> Generator[tuple[int, Line], None, None]:
        """``(line number, line)`` for every complete line; a torn last line is kept aside."""
        offset = 0
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        with handle:
            for number, raw in enumerate(handle, start=1):
                line = Line(offset, raw)
                offset += len(raw)
                if not raw.endswith(b"\n"):
                    self.torn = line
                    return
                yield number, line
