"""``file:`` triggers: each file dropped in a folder is handed once to a run as its input.

A file is taken once it is stable — its size and modification time unchanged for
``settle_seconds`` (or, with ``marker: .done``, once ``x.csv.done`` is newer than
``x.csv``). Taking it is a rename into ``processing/`` (atomic on one filesystem, so a
writer that reopens the name makes a new file), then its SHA-256 is computed there and, in
one ledger transaction, the event row (unique per trigger and hash), the QUEUED run with
the file as its input and the ``trigger.fired`` record are written. When the run ends the
file goes to ``processed/`` (SUCCEEDED, COMPLETED_WITH_FAILURES) or ``rejected/`` (with a
``.why.txt``); a file whose content was taken before goes to ``rejected/`` at once.

Every step can be interrupted: a file in ``processing/`` that the ledger does not know is
settled and recorded again; one whose event already ended is moved on; an event is never
taken twice (the unique key), so no file starts two runs, across restarts too.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from loguru import logger

from borough import filemodes
from borough.config.loader import Config
from borough.errors import ConfigError
from scheduler.events.base import Watch
from scheduler.events.book import EventBook
from scheduler.events.config import FileWatchConfig, TriggerConfig
from scheduler.events.store import DONE, PROCESSED, REJECTED, TAKEN, Event, EventRow

PROCESSING = "processing"
WHY_SUFFIX = ".why.txt"


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int
    inode: int
    since: float  # time.monotonic() when this size and time were first seen


def input_of(config: Config, trigger: TriggerConfig) -> str:
    """The bot's input a dropped file (or a received message) becomes: ``file.input``
    (``mailbox.input``), or the bot's only input."""
    spec = trigger.file or trigger.mailbox
    assert spec is not None
    bot_config = config.bot_config(trigger.bot)
    declared = sorted(bot_config.inputs) if bot_config else []
    if spec.input is not None:
        if declared and spec.input not in declared:
            raise ConfigError(
                f"bot {trigger.bot!r} has no input {spec.input!r}; it reads: {', '.join(declared)}"
            )
        return spec.input
    if len(declared) != 1:
        what = ", ".join(declared) if declared else "none declared"
        raise ConfigError(
            f"say which input of bot {trigger.bot!r} the {trigger.kind} event fills "
            f"({trigger.kind}.input); it reads: {what}"
        )
    return declared[0]


def original_name(name: str) -> str:
    """``20261123T105802123456Z-x.csv`` (a name in processing/) → ``x.csv``."""
    return name.split("-", 1)[1] if "-" in name else name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class FileWatch(Watch):
    kind = "file"

    def __init__(self, name: str, config: TriggerConfig, book: EventBook, *, home: Path) -> None:
        super().__init__(name, config, book)
        assert config.file is not None
        self.spec: FileWatchConfig = config.file
        folder = Path(self.spec.folder).expanduser()
        self.folder = folder if folder.is_absolute() else home / folder
        self.processing = self.folder / PROCESSING
        self.processed = self.folder / self.spec.processed
        self.rejected = self.folder / self.spec.rejected
        self.input = input_of(book.config, config)
        self._seen: dict[Path, Seen] = {}
        self._known: set[str] = set()  # names in processing/ the ledger accounts for

    # -- one look -----------------------------------------------------------------------------
    def poll(self, now: datetime) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for sub in (self.processing, self.processed, self.rejected):
            filemodes.make_folder(sub)
        self._finish_ended()
        unrecorded = self._recover()
        ready = [p for p in unrecorded if self._stable(p)]
        ready += [p for p in self._drops() if self._stable(p)]
        self._forget_gone()
        if not ready:
            return
        free = self.book.free_runs(self.name, self.config, now, waiting=len(ready))
        for path in ready:
            if free <= 0:
                break
            if self._take(path, now):
                free -= 1

    # -- finding files ------------------------------------------------------------------------
    def _drops(self) -> list[Path]:
        found = []
        with os.scandir(self.folder) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(".") or not entry.is_file(follow_symlinks=False):
                    continue
                if self.spec.marker and name.endswith(self.spec.marker):
                    continue
                if fnmatch.fnmatchcase(name, self.spec.pattern):
                    found.append(Path(entry.path))
        return sorted(found, key=lambda p: (self._mtime(p), p.name))

    @staticmethod
    def _mtime(path: Path) -> int:
        try:
            return path.stat().st_mtime_ns
        except OSError:
            return 0

    def _stable(self, path: Path) -> bool:
        """Size and time unchanged for ``settle_seconds`` (or a newer marker beside it)."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        now = time.monotonic()
        seen = self._seen.get(path)
        if seen is None or (seen.size, seen.mtime_ns, seen.inode) != (
            stat.st_size,
            stat.st_mtime_ns,
            stat.st_ino,
        ):
            self._seen[path] = Seen(stat.st_size, stat.st_mtime_ns, stat.st_ino, now)
            seen = self._seen[path]
        if self.spec.marker and path.parent == self.folder:
            try:
                marker = path.with_name(path.name + self.spec.marker).stat()
            except FileNotFoundError:
                return False
            if marker.st_mtime_ns < stat.st_mtime_ns:
                return False  # a marker left from an earlier file of the same name
        settle = self.spec.settle_seconds
        quiet_for = time.time() - stat.st_mtime_ns / 1e9
        return now - seen.since >= settle and quiet_for >= settle

    def _forget_gone(self) -> None:
        for path in [p for p in self._seen if not p.exists()]:
            del self._seen[path]

    # -- taking a file -------------------------------------------------------------------------
    def _take(self, path: Path, now: datetime) -> bool:
        """Move a stable drop into processing/ and record it; True if a run was queued."""
        seen = self._seen.pop(path, None)
        if path.parent == self.folder:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            moved = self.processing / f"{stamp}-{path.name}"
            try:
                os.rename(path, moved)
            except FileNotFoundError:
                return False
            if self.spec.marker:
                path.with_name(path.name + self.spec.marker).unlink(missing_ok=True)
            path = moved
        stat = path.stat()
        if seen is not None and (stat.st_size, stat.st_mtime_ns) != (seen.size, seen.mtime_ns):
            return False  # written to after it looked stable: settled again in processing/
        digest = sha256_of(path)
        row = self.book.store.get(self.name, digest)
        if row is not None and row.state != REJECTED:
            if row.name != path.name:
                self._duplicate(path, digest, row)
            else:
                self._known.add(path.name)
            return False
        event_detail = {"file": original_name(path.name), "sha256": digest, "size": stat.st_size}
        run = self.book.fire(
            self.name,
            self.config,
            [Event(key=digest, name=path.name, detail=event_detail)],
            inputs={self.input: str(path)},
            detail=event_detail,
            now=now,
        )
        if run is None:  # taken meanwhile under the same hash
            taken = self.book.store.get(self.name, digest)
            if taken is not None and taken.name != path.name:
                self._duplicate(path, digest, taken)
            return False
        self._known.add(path.name)
        return True

    def _duplicate(self, path: Path, digest: str, first: EventRow) -> None:
        original = original_name(path.name)
        why = (
            f"same content (sha256 {digest}) as {first.detail.get('file', '?')}, "
            f"taken by run {first.run_id}"
        )
        self.book.trail.bind(bot=self.config.bot).emit(
            "trigger.file.duplicate",
            outcome="rejected",
            error=why,
            detail={"trigger": self.name, "file": original, "sha256": digest},
        )
        logger.bind(action="trigger.file.duplicate").info("trigger {}: {}", self.name, why)
        self._move(path, self.rejected, why)

    # -- after the run ----------------------------------------------------------------------------
    def _finish_ended(self) -> None:
        def detail(row: EventRow) -> dict[str, object]:
            return {"file": row.detail.get("file"), "sha256": row.key}

        for row, state, why in self.book.settle_ended(self.name, self.config, "file", detail):
            if row.name:
                self._place(row.name, state, why)

    def _recover(self) -> list[Path]:
        """Files in processing/ the ledger does not account for (to settle and record);
        files whose event has ended but which were not moved on are moved now."""
        unrecorded = []
        for path in sorted(self.processing.iterdir()):
            if path.name in self._known or not path.is_file():
                continue
            row = self.book.store.by_name(self.name, path.name)
            if row is None:
                unrecorded.append(path)
            elif row.state in (TAKEN, DONE):
                self._known.add(path.name)
            else:
                self._place(path.name, row.state, None)
        return unrecorded

    def _place(self, name: str, state: str, why: str | None) -> None:
        source = self.processing / name
        if source.exists():
            self._move(source, self.processed if state == PROCESSED else self.rejected, why)
        self._known.discard(name)

    @staticmethod
    def _move(source: Path, folder: Path, why: str | None) -> None:
        target = folder / source.name
        if target.exists():
            target = folder / f"{source.stem}~{time.time_ns()}{source.suffix}"
        os.rename(source, target)
        if why:
            filemodes.write_private(
                target.with_name(target.name + WHY_SUFFIX), (why + "\n").encode()
            )
