"""Processes a run started (an app, its virtual display) outlive a killed run: find and stop
them before the next run starts its own.

A connector that starts a process tells the run (``AppServices.own_process``); the run
writes a record in the installation's state (``var/processes/<run>-<pid>.json``: the
process's pid and kernel start time, the run's own pid and start time, what it is) and
removes it when the connector stops the process itself. A run killed with -9 never does:
the next run on this host finds the record, sees that the run that wrote it is gone and
that the process is still the one recorded (pid *and* start time, so a reused pid is never
touched), and stops it (SIGTERM to its process group, SIGKILL after a grace). So a second
copy of the app never opens the same files, and an app that keeps changes until an
explicit save starts afresh (see :mod:`borough.batches`). Processes of live runs are left
alone. Records name no personal data.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from loguru import logger

from borough import filemodes
from borough.ledger.runs import process_alive, process_start_marker

#: how long a stopped process may take to exit after SIGTERM before SIGKILL
STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class OwnedProcess:
    """One process a run started, as recorded."""

    run_id: str
    owner_pid: int
    owner_start: str | None
    pid: int
    start: str | None
    what: str


class ProcessBook:
    """The records of processes runs on this host started (one JSON file each)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def own(self, run_id: str, pid: int, what: str) -> None:
        """Record that run ``run_id`` (this process) started ``pid`` (``what``: "app X")."""
        me = os.getpid()
        record = OwnedProcess(
            run_id, me, process_start_marker(me), pid, process_start_marker(pid), what
        )
        filemodes.make_folder(self.folder)
        path = self._path(run_id, pid)
        temporary = path.with_suffix(".tmp")
        filemodes.write_private(temporary, json.dumps(asdict(record)).encode("utf-8"))
        temporary.replace(path)

    def disown(self, run_id: str, pid: int) -> None:
        """The run stopped ``pid`` itself: forget it."""
        with contextlib.suppress(FileNotFoundError):
            self._path(run_id, pid).unlink()

    def records(self) -> list[OwnedProcess]:
        """Newest first: an app is stopped before the display it runs on."""
        paths = list(self.folder.glob("*.json")) if self.folder.is_dir() else []
        found = []
        for path in sorted(paths, key=_recorded_at, reverse=True):
            try:
                found.append(OwnedProcess(**json.loads(path.read_text(encoding="utf-8"))))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, TypeError):
                logger.bind(action="process.record_unreadable").warning(
                    "ignoring an unreadable process record {}", path.name
                )
        return found

    def stop_orphans(
        self, on_stop: Callable[[OwnedProcess, str], object] | None = None
    ) -> list[OwnedProcess]:
        """Stop every recorded process whose run is gone; returns those stopped.

        ``on_stop(record, how)`` is told of each (``how``: "terminated" or "killed").
        Records of processes already gone are removed silently.
        """
        stopped = []
        for record in self.records():
            if process_alive(record.owner_pid, record.owner_start):
                continue  # a live run's process: not ours to touch
            if process_alive(record.pid, record.start):
                how = _stop(record.pid)
                stopped.append(record)
                if on_stop is not None:
                    on_stop(record, how)
            self.disown(record.run_id, record.pid)
        return stopped

    def _path(self, run_id: str, pid: int) -> Path:
        return self.folder / f"{run_id}-{pid}.json"


def _recorded_at(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:  # forgotten meanwhile by its run
        return 0


def _stop(pid: int) -> str:
    """SIGTERM the process (its whole group if it leads one), SIGKILL after the grace."""

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)

    marker = process_start_marker(pid)
    send(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline:
        if not process_alive(pid, marker):
            return "terminated"
        time.sleep(0.05)
    send(signal.SIGKILL)
    return "killed"
