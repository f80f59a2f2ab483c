"""Temporary workbook files: private, named for their writer, removed only once it is dead."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from borough.ledger.runs import process_start_marker
from connectors.files import tempfiles


def dead_process() -> tuple[int, str | None]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    marker = process_start_marker(child.pid)
    child.wait()
    return child.pid, marker


def left_by(target: Path, host: str, pid: int, marker: str | None) -> Path:
    name = f".{target.name}~{host}~{pid}~{marker or '-'}~abcd1234{tempfiles.SUFFIX}"
    path = target.with_name(name)
    path.write_bytes(b"PK names and NI numbers")
    return path


def test_a_temporary_file_is_private_and_names_its_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOROUGH_HOST", "runner~1")
    target = tmp_path / "ctr_import.xlsx"
    loose = os.umask(0o022)
    try:
        path = tempfiles.create(target)
    finally:
        os.umask(loose)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.name.startswith(f".ctr_import.xlsx~runner-1~{os.getpid()}~")
    assert path.name.endswith(".borough-tmp") and not path.name.endswith(".xlsx")
    assert tempfiles.remove_stale(target) == [] and path.exists()  # we are alive


def test_only_files_of_dead_writers_on_this_host_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("BOROUGH_HOST", "runner-1")
    target = tmp_path / "import [1].xlsx"
    pid, marker = dead_process()
    dead = left_by(target, "runner-1", pid, marker)
    reused = left_by(target, "runner-1", os.getpid(), "1")  # our pid, another start time
    alive = left_by(target, "runner-1", os.getpid(), process_start_marker(os.getpid()))
    elsewhere = left_by(target, "runner-2", pid, marker)
    other_target = left_by(tmp_path / "other.xlsx", "runner-1", pid, marker)
    odd = target.with_name(f".{target.name}~not-ours{tempfiles.SUFFIX}")
    odd.write_bytes(b"")
    assert sorted(tempfiles.remove_stale(target)) == sorted([dead, reused])
    assert not dead.exists() and not reused.exists()
    for kept in (alive, elsewhere, other_target, odd):
        assert kept.exists(), kept
