"""Private file modes for everything borough writes: files 0600, folders 0700.

The ledger, logs, evidence, downloads and target files hold personal data or could lead
to it, so no other local user may read them. Entry points (the ``borough`` command, and
so the scheduler's run processes, the worker and the dashboard) set a private umask
first; files and folders borough creates get explicit modes as well, so a library
caller with a loose umask is covered too; folders from older versions are tightened when
the runtime opens them.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
FOLDER_MODE = 0o700
UMASK = 0o077


def private_umask() -> None:
    """New files of this process and its children are readable by their owner only."""
    os.umask(UMASK)


def make_folder(path: Path) -> Path:
    """``mkdir -p`` where each folder created is 0700; existing ones are left alone."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is filtered by the umask
    return path


_FLAGS = {"a": os.O_APPEND | os.O_CREAT | os.O_WRONLY, "w": os.O_TRUNC | os.O_CREAT | os.O_WRONLY}


def open_private(path: Path, mode: str = "a", encoding: str | None = None) -> IO[Any]:
    """``open(path, mode)`` ("a"/"w", text or binary) for a file that is, or becomes, 0600."""
    fd = os.open(path, _FLAGS[mode[0]], FILE_MODE)
    current = os.fstat(fd).st_mode
    if current & 0o077:
        os.fchmod(fd, stat.S_IMODE(current) & ~0o077)
    return os.fdopen(fd, mode, encoding=encoding)


def write_private(path: Path, data: bytes) -> None:
    with open_private(path, "wb") as handle:
        handle.write(data)


def private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 if it is missing (so SQLite and others keep the mode).

    An existing file is never opened: closing any descriptor of a file drops every POSIX
    lock this process holds on it, so touching an SQLite database another engine of this
    process has open lets another process take it for unused (checkpoint, WAL removed) and
    that engine's next statement fails with "disk I/O error".
    """
    make_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    return tighten(path)


def tighten(path: Path) -> Path:
    """Remove group and other permissions from ``path`` if it has any."""
    mode = path.lstat().st_mode
    if not stat.S_ISLNK(mode) and mode & 0o077:
        os.chmod(path, stat.S_IMODE(mode) & ~0o077)
    return path


def tighten_folders(folders: Iterable[Path]) -> None:
    """Make each folder private; one that was not (an older installation) has everything
    beneath it tightened too, once."""
    for folder in folders:
        make_folder(folder)
        if folder.stat().st_mode & 0o077:
            for root, dirs, files in os.walk(folder):
                for name in (*dirs, *files):
                    tighten(Path(root) / name)
            tighten(folder)
