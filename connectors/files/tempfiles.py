"""Temporary copies of a target file that cannot outlive the process that wrote them.

A workbook is saved whole to a temporary file beside it, then renamed over it, so the
target is never half-written. A process killed mid-save leaves that temporary file, full
of names and NI numbers, so each one is created private (0600) and named after its
writer: ``.<target>~<host>~<pid>~<start>~<random>.borough-tmp``. Whoever opens the target
next removes those whose writer is dead, never one whose writer still runs (a pid reused
by another program is told apart by its start time). Files written from another machine
are left to that machine. The suffix is not the target's, so an import job watching for
``*.xlsx`` never picks one up.
"""

from __future__ import annotations

import glob
import os
import secrets
from pathlib import Path

from loguru import logger

from borough.host import host_name
from borough.ledger.runs import process_alive, process_start_marker

SUFFIX = ".borough-tmp"
_SEP = "~"


def create(target: Path) -> Path:
    """A new, empty, private temporary file beside ``target``, named for this process."""
    pid = os.getpid()
    parts = (_host(), str(pid), process_start_marker(pid) or "-", secrets.token_hex(4))
    path = target.with_name(f".{target.name}{_SEP}{_SEP.join(parts)}{SUFFIX}")
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    return path


def remove_stale(target: Path) -> list[Path]:
    """Remove the temporary files of ``target`` left by dead processes on this host."""
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    here = _host()
    for path in target.parent.glob(f".{glob.escape(target.name)}{_SEP}*{SUFFIX}"):
        writer = _writer(path, target)
        if writer is None or writer[0] != here or process_alive(writer[1], writer[2]):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        logger.bind(action="files.tmp_removed").warning(
            "removed {} temporary file(s) of {} left by stopped processes", len(removed), target
        )
    return removed


def _writer(path: Path, target: Path) -> tuple[str, int, str | None] | None:
    """(host, pid, start marker) from a temporary file's name; None if not one of ours."""
    middle = path.name[len(target.name) + 2 : -len(SUFFIX)]
    parts = middle.split(_SEP)
    if len(parts) != 4 or not parts[1].isdigit():
        return None
    host, pid, marker, _ = parts
    return host, int(pid), None if marker == "-" else marker


def _host() -> str:
    return host_name().replace(_SEP, "-")
