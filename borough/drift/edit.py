"""Write accepted fixes into ``config/apps.yaml``, changing only the text of each locator.

The file is edited as text, not re-dumped: every comment, key order and quoting style a
person chose stays as it was; each changed scalar is written as a double-quoted string.
A copy of the file is kept before anything is written, the new text replaces the old
atomically, and each edit is refused if the file no longer says what the check saw.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import yaml

from borough.errors import ConfigError

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Edit:
    """Replace the scalar at ``path`` (or, with ``key``, the mapping key ending it)."""

    path: KeyPath
    old: str
    new: str
    key: bool = False

    def describe(self) -> str:
        where = ".".join(str(part) for part in self.path)
        return f"{where}{' (key)' if self.key else ''}: {self.old!r} -> {self.new!r}"


def apply_edits(file: Path, edits: Sequence[Edit], backups: Path, lock: Path) -> Path:
    """Apply ``edits`` to ``file`` and return the path of the copy kept beforehand."""
    with _locked(lock):
        text = file.read_text(encoding="utf-8")
        spans = sorted(((_span(text, file, edit), edit) for edit in edits), key=lambda s: s[0])
        for (first, _), (second, _) in pairwise(spans):
            if second[0] < first[1]:
                raise ConfigError("two fixes change the same text", file=file)
        for (start, end), edit in reversed(spans):
            text = text[:start] + json.dumps(edit.new, ensure_ascii=False) + text[end:]
        backups.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backup = backups / f"{file.name}.{stamp}"
        shutil.copy2(file, backup)
        _replace(file, text)
    return backup


def restore(file: Path, backup: Path, lock: Path) -> None:
    """Put the copy back (a fix that made the config invalid)."""
    with _locked(lock):
        _replace(file, backup.read_text(encoding="utf-8"))


def _span(text: str, file: Path, edit: Edit) -> tuple[int, int]:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    key_node = None
    for part in edit.path:
        if isinstance(node, yaml.MappingNode):
            pairs = [(k, v) for k, v in node.value if k.value == part]
            if not pairs:
                node = None
                break
            key_node, node = pairs[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
            key_node = None
        else:
            node = None
        if node is None:
            break
    target = key_node if edit.key else node
    if not isinstance(target, yaml.ScalarNode) or target.value != edit.old:
        raise ConfigError(
            f"{'.'.join(map(str, edit.path))} no longer says {edit.old!r}: the file changed "
            "since the check; run the check again",
            file=file,
        )
    return target.start_mark.index, target.end_mark.index


def _replace(file: Path, text: str) -> None:
    mode = file.stat().st_mode & 0o777
    fd, temp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, file)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextmanager
def _locked(lock: Path) -> Iterator[None]:
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
