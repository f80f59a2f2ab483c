"""Fault fixtures for reliability tests: a tiny tmpfs (disk full) and a read-only bind mount.

Both need root (mounting); root also ignores file modes, which is why read-only is a bind
mount and not a chmod. Off CI without root they skip; under CI=true they fail instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import require


def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


@contextmanager
def mounted_tmpfs(folder: Path, size: str) -> Iterator[Callable[[str], None]]:
    """``folder`` on a tmpfs of ``size`` (its content copied in); yields ``resize(size)``."""
    saved = folder.with_name(folder.name + ".saved")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.move(folder, saved)
    folder.mkdir()
    _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder))
    try:
        shutil.copytree(saved, folder, dirs_exist_ok=True)
        yield lambda new: _run("mount", "-o", f"remount,size={new}", str(folder))
    finally:
        _run("umount", "-l", str(folder))


@contextmanager
def mounted_read_only(folder: Path) -> Iterator[None]:
    """``folder`` made read-only for everyone, root included (a read-only bind mount)."""
    _run("mount", "--bind", str(folder), str(folder))
    try:
        _run("mount", "-o", "remount,bind,ro", str(folder))
        yield
    finally:
        _run("umount", "-l", str(folder))


@pytest.fixture
def mounts() -> None:
    require(_can_mount(), "mounting (tmpfs, read-only bind)", "run the tests as root")
