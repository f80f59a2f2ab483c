"""Test helpers shipped for bot authors: a throw-away installation, a write-counting target
and an in-memory store of audit anchors; for unit tests in milliseconds, a bot run in
memory against fakes (:class:`OfflineRun`, :class:`MemoryTarget`, :class:`MemorySecrets`,
:func:`memory_keys`, :class:`TestClock`; see :mod:`borough.offline` and :mod:`borough.fakes`).

``CountingTarget`` is a fake legacy system in a SQLite file: it counts every write, so a
test can prove a bot never created anything twice, even across killed processes. Fault
injection makes it fail before or after the write. It is no installed connector kind: a
test's ``apps.yaml`` names it by class, ``kind: borough.testing:CountingTarget``
(:data:`COUNTING_KIND`), so production installations never offer it.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from borough import logconfig
from borough.audit.anchors import Anchor
from borough.config.loader import load_config
from borough.config.paths import resolve_paths
from borough.connect import AppServices, Connector
from borough.drift.report import Candidate, Finding, element_path
from borough.drift.screens import ScreenDecl
from borough.drift.similar import similarity
from borough.errors import BoroughError, TransientError
from borough.fakes import MemorySecrets, MemoryTarget, TestClock, memory_keys
from borough.offline import OfflineContext, OfflineRun, Outcome, RunResult
from borough.runtime import Runtime, open_runtime
from borough.secrets.store import TEST_ONLY_KDF, SecretStore

__all__ = [
    "COUNTING_KIND",
    "TEST_PASSPHRASE",
    "CountingTarget",
    "MemoryAnchors",
    "MemorySecrets",
    "MemoryTarget",
    "OfflineContext",
    "OfflineRun",
    "Outcome",
    "RunResult",
    "TestClock",
    "counted_writes",
    "home_env",
    "make_home",
    "memory_keys",
    "prepare_test_secrets",
    "runtime_in",
]

TEST_PASSPHRASE = "borough-test-passphrase"
#: the ``kind:`` of an ``apps.yaml`` entry that is a :class:`CountingTarget`
COUNTING_KIND = "borough.testing:CountingTarget"


def make_home(
    root: Path,
    *,
    config: Path | None = None,
    files: Mapping[str, str | bytes] | None = None,
    cheap_secrets: bool = True,
) -> Path:
    """A fresh installation folder: ``config`` copied in, extra ``files`` written (relative).

    With ``cheap_secrets`` (the default) its secret store is created for ``TEST_PASSPHRASE``
    with test-only key-derivation costs, so each runtime opens in milliseconds instead of
    paying two full Argon2 derivations; the store is otherwise the real encrypted file.
    """
    root.mkdir(parents=True, exist_ok=True)
    if config is not None:
        shutil.copytree(config, root / "config", dirs_exist_ok=True)
    for relative, content in (files or {}).items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    if cheap_secrets:
        prepare_test_secrets(root)
    return root


def prepare_test_secrets(home: Path, passphrase: str = TEST_PASSPHRASE) -> Path:
    """Create ``home``'s secret store with test-only KDF costs (if it has none yet).

    A home whose config is deliberately broken (config tests) gets the default location.
    """
    paths = resolve_paths(home_env(home, passphrase))
    try:
        file = load_config(paths).secrets_file
    except BoroughError:
        file = paths.data / "secrets.cfg"
    if not file.exists():
        SecretStore.create(file, passphrase, kdf=TEST_ONLY_KDF)
    return file


def home_env(home: Path, passphrase: str = TEST_PASSPHRASE) -> dict[str, str]:
    """Environment for a borough process (CLI, subprocess) working in ``home``."""
    return {
        "BOROUGH_HOME": str(home),
        "BOROUGH_SECRETS_PASSPHRASE": passphrase,
        "BOROUGH_CONFIG_DIR": str(home / "config"),
        "BOROUGH_LOGS_DIR": str(home / "logs"),
        "BOROUGH_DATA_DIR": str(home / "var"),
    }


@contextmanager
def runtime_in(home: Path, *, passphrase: str = TEST_PASSPHRASE) -> Iterator[Runtime]:
    """An open runtime for ``home`` with audit logging wired (no console output)."""
    env = home_env(home, passphrase)
    config = load_config(resolve_paths(env))
    runtime = open_runtime(config, env=env)
    logconfig.configure(runtime, console_level=None)
    try:
        yield runtime
    finally:
        logconfig.reset()
        runtime.close()


class CountingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = "var/targets/counting.sqlite"
    delay_seconds: float = 0.0
    fail_before_rate: float = 0.0  # TransientError, nothing written
    fail_after_rate: float = 0.0  # TransientError raised after the write committed
    unreachable: bool = False  # every call raises TransientError (app down)
    save_later: bool = False  # creates are held in memory until save() (an app's "Save")
    fail_save_rate: float = 0.0  # save(): TransientError, nothing written
    fail_after_save_rate: float = 0.0  # save(): TransientError after the batch committed
    seed: int | None = None
    screens: dict[str, ScreenDecl] = Field(default_factory=dict)  # for the drift check
    shows: list[str] = Field(default_factory=list)  # the locators the fake app shows today


class CountingTarget(Connector):
    """A fake legacy system that counts writes (see module docstring)."""

    kind: ClassVar[str] = "counting"
    Settings: ClassVar[type[BaseModel]] = CountingSettings

    def __init__(self, name: str, settings: CountingSettings, services: AppServices) -> None:
        super().__init__(name, settings, services)
        raw = Path(settings.path)
        self.path = raw if raw.is_absolute() else services.home / raw
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._random = random.Random(settings.seed)
        self._held: list[tuple[str, str]] = []
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS records (key TEXT, reference TEXT, payload TEXT, pid INT)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sessions "
            "(seq INTEGER PRIMARY KEY AUTOINCREMENT, pid INT, event TEXT)"
        )
        self._session("open")

    def _session(self, event: str) -> None:
        """Log sign-ins and sign-outs, so a test can prove two sessions never overlapped."""
        self._db.execute("INSERT INTO sessions (pid, event) VALUES (?, ?)", (os.getpid(), event))

    def _maybe_fail(self, rate: float, where: str) -> None:
        if self.settings.unreachable:
            raise TransientError(f"{self.name} is not answering", app=self.name, step=where)
        if rate and self._random.random() < rate:
            raise TransientError(f"{self.name} fault injected {where}", app=self.name, step=where)

    def create(self, key: str, payload: str = "") -> str | None:
        """Write one record and return its reference; with ``save_later``, hold it
        unsaved (returns None: the reference is known at :meth:`save`)."""
        self._maybe_fail(self.settings.fail_before_rate, "before write")
        if self.settings.delay_seconds:
            time.sleep(self.settings.delay_seconds)
        if self.settings.save_later:
            self._held.append((key, payload))
            self._maybe_fail(self.settings.fail_after_rate, "after write")
            return None
        self.services.check_lease()  # a run that lost its lease must not write
        [(_, reference)] = self._write([(key, payload)])
        self._maybe_fail(self.settings.fail_after_rate, "after write")
        return reference

    def save(self) -> dict[str, str]:
        """``save_later``: write every held record in one transaction, as an app's "Save"
        does; ``{key: reference}``. A killed process loses what was held, never half."""
        self._maybe_fail(self.settings.fail_save_rate, "before save")
        self.services.check_lease()
        held, self._held = self._held, []
        saved = dict(self._write(held))
        self._maybe_fail(self.settings.fail_after_save_rate, "after save")
        return saved

    @property
    def unsaved(self) -> int:
        return len(self._held)

    def _write(self, records: list[tuple[str, str]]) -> list[tuple[str, str]]:
        self._db.execute("BEGIN IMMEDIATE")
        (count,) = self._db.execute("SELECT COUNT(*) FROM records").fetchone()
        written = []
        for number, (key, payload) in enumerate(records, start=count + 1):
            reference = f"REF-{number:06d}"
            self._db.execute(
                "INSERT INTO records VALUES (?, ?, ?, ?)", (key, reference, payload, os.getpid())
            )
            written.append((key, reference))
        self._db.execute("COMMIT")
        return written

    def find(self, key: str) -> str | None:
        self._maybe_fail(0.0, "search")
        row = self._db.execute("SELECT reference FROM records WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._session("close")
        self._db.close()

    def check_screens(self, baseline: Mapping[tuple[str, str], dict[str, Any]]) -> list[Finding]:
        """The drift check of a fake app: a locator matches if ``shows`` lists it; the
        others' candidates are the shown locators nobody matched, by similarity."""
        self._maybe_fail(0.0, "drift check")
        shown = set(self.settings.shows)
        declared = {
            loc for screen in self.settings.screens.values() for loc in screen.elements.values()
        }
        spare = sorted(shown - declared)
        findings = []
        for name, screen in self.settings.screens.items():
            for element, locator in screen.elements.items():
                path = element_path(name, element)
                if not screen.visited:
                    findings.append(
                        Finding(name, element, locator, "unchecked", screen.reach, path=path)
                    )
                elif locator in shown:
                    seen = {"locator": locator}
                    findings.append(
                        Finding(name, element, locator, "ok", path=path, fingerprint=seen)
                    )
                else:
                    ranked = sorted(spare, key=lambda s: -similarity(locator, s))
                    candidates = tuple(
                        Candidate(s, similarity(locator, s), f"shown {s!r}") for s in ranked[:3]
                    )
                    findings.append(
                        Finding(
                            name, element, locator, "missing", "matches nothing", candidates, path
                        )
                    )
        return findings

    def failure_evidence(self) -> list[tuple[str, bytes | str, str]]:
        (count,) = self._db.execute("SELECT COUNT(*) FROM records").fetchone()
        return [("state.txt", f"records held: {count}\n", "app-state")]


def most_sessions_at_once(path: Path) -> int:
    """The most sessions a CountingTarget database ever had open at the same time."""
    with sqlite3.connect(path) as db:
        events = db.execute("SELECT pid, event FROM sessions ORDER BY seq").fetchall()
    open_now: set[int] = set()
    most = 0
    for pid, event in events:
        if event == "open":
            open_now.add(pid)
        else:
            open_now.discard(pid)
        most = max(most, len(open_now))
    return most


def counted_writes(path: Path) -> dict[str, int]:
    """``{key: number of writes}`` in a CountingTarget database."""
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT key, COUNT(*) FROM records GROUP BY key").fetchall())


class MemoryAnchors:
    """An in-memory :class:`~borough.audit.anchors.AnchorStore` (the ledger's, for unit tests)."""

    def __init__(self) -> None:
        self.rows: list[Anchor] = []

    def record(self, anchor: Anchor) -> None:
        self.rows.append(anchor)

    def latest(self, trail: str) -> Anchor | None:
        mine = [a for a in self.rows if a.trail == trail]
        return mine[-1] if mine else None

    def since_restart(self, trail: str) -> list[Anchor]:
        mine = [a for a in self.rows if a.trail == trail]
        starts = [i for i, a in enumerate(mine) if a.kind == "restart"]
        return mine[starts[-1] :] if starts else mine
