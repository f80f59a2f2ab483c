"""Fakes for a bot's unit tests: time, secrets, keys and a target app, all in memory.

:class:`TestClock` (waits pass at once), :class:`MemorySecrets` (the secret store's
interface), :func:`memory_keys`, and :class:`MemoryTarget` (a fake app that counts its
writes, with fault injection and ``save_later``: creates held until ``save()``, as a desktop
client keeps them until "Save"). :mod:`borough.offline` runs a bot against them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from borough.connect import AppServices, Connector
from borough.errors import SecretsError, TransientError
from borough.secrets.keys import KeyMaterial

#: the moment a :class:`TestClock` starts at unless told otherwise (a Monday, 09:00 UTC)
EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class TestClock:
    """Time that passes only when the test (or a wait) says so: ``sleep`` returns at once."""

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime = EPOCH) -> None:
        self._now = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - EPOCH).total_seconds()

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        """What a wait would have been: recorded in ``slept``, and the clock moves on."""
        self.slept.append(seconds)
        self.advance(seconds)


class MemorySecrets:
    """The secret store's interface (``get``/``find``/``set``/``delete``/``names``) in memory:
    no file, no key derivation. ``on_value`` sees every value read (the runtime redacts them)."""

    def __init__(
        self,
        values: Mapping[str, str] | None = None,
        on_value: Callable[[str], None] | None = None,
    ) -> None:
        self._values = dict(values or {})
        self._on_value = on_value or (lambda value: None)

    def has(self, name: str) -> bool:
        return name in self._values

    def find(self, name: str) -> str | None:
        value = self._values.get(name)
        if value is not None:
            self._on_value(value)
        return value

    def get(self, name: str) -> str:
        value = self.find(name)
        if value is None:
            raise SecretsError(
                f"no secret named {name!r} in the in-memory store; give it as secrets={{...}}"
            )
        return value

    def set(self, name: str, value: str) -> None:
        if not value:
            raise SecretsError(f"refusing to store an empty value for secret {name!r}")
        self._values[name] = value

    def delete(self, name: str) -> None:
        if self._values.pop(name, None) is None:
            raise SecretsError(f"no secret named {name!r} to delete")

    def names(self) -> list[str]:
        return sorted(self._values)


def memory_keys() -> KeyMaterial:
    """A fresh set of installation keys (signing, token, ledger), made in memory."""
    return KeyMaterial.generate()


class MemorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reference_prefix: str = "REF-"
    save_later: bool = False  # creates are held until save(), as a client keeps them


def _no_services() -> AppServices:
    def ignore(*args: Any, **kwargs: Any) -> None:
        return None

    def no_secret(name: str) -> str:
        raise SecretsError(f"a MemoryTarget has no secret {name!r}")

    here = Path(".")
    return AppServices(secret=no_secret, capture=ignore, step=ignore, home=here, run_folder=here)


class MemoryTarget(Connector):
    """A fake target app in memory: ``create(key, data)`` returns its reference,
    ``find(key)`` finds it again. ``writes`` counts every create per key (exactly-once is
    ``max(writes.values()) == 1``); ``fail_next`` injects a fault before or after the
    write; ``down`` makes every call a :class:`TransientError`. With ``save_later`` a
    create is held (``unsaved``, a provisional reference) until ``save()`` keeps them all;
    ``fail_next_save`` fails a save, ``close()`` drops what is unsaved, as a closed app."""

    kind: ClassVar[str] = "memory"
    Settings: ClassVar[type[BaseModel]] = MemorySettings
    settings: MemorySettings

    def __init__(
        self,
        name: str = "target",
        settings: MemorySettings | None = None,
        services: AppServices | None = None,
        *,
        save_later: bool = False,
    ) -> None:
        if save_later:
            settings = (settings or MemorySettings()).model_copy(update={"save_later": True})
        super().__init__(name, settings or MemorySettings(), services or _no_services())
        self.records: dict[str, tuple[str, Any]] = {}
        self.writes: Counter[str] = Counter()
        self.down = False
        self.unsaved: list[tuple[str, Any]] = []
        self._faults: list[tuple[bool, BaseException]] = []
        self._save_faults: list[tuple[bool, BaseException]] = []

    def fail_next(
        self, times: int = 1, *, after_write: bool = False, error: BaseException | None = None
    ) -> None:
        """The next ``times`` creates fail (``after_write``: once the record is kept)."""
        fault = error or TransientError(f"{self.name} fault injected", app=self.name)
        self._faults.extend([(after_write, fault)] * times)

    def _check_up(self, step: str) -> None:
        if self.down:
            raise TransientError(f"{self.name} is not answering", app=self.name, step=step)

    def create(self, key: str, data: object = None) -> str:
        self._check_up("create")
        after, fault = self._faults.pop(0) if self._faults else (False, None)
        if fault is not None and not after:
            raise fault
        if self.settings.save_later:  # a provisional line number; save() gives the real one
            self.unsaved.append((key, data))
            if fault is not None:
                raise fault
            return f"unsaved-{len(self.unsaved)}"
        reference = self._keep(key, data)
        if fault is not None:
            raise fault
        return reference

    def fail_next_save(
        self, times: int = 1, *, after_write: bool = False, error: BaseException | None = None
    ) -> None:
        """The next ``times`` saves fail (``after_write``: once the records are kept)."""
        fault = error or TransientError(f"{self.name} save fault injected", app=self.name)
        self._save_faults.extend([(after_write, fault)] * times)

    def save(self) -> dict[str, str]:
        """Keep every held create; ``{key: reference}``."""
        self._check_up("save")
        after, fault = self._save_faults.pop(0) if self._save_faults else (False, None)
        if fault is not None and not after:
            raise fault
        held, self.unsaved = self.unsaved, []
        saved = {key: self._keep(key, data) for key, data in held}
        if fault is not None:
            raise fault
        return saved

    def _keep(self, key: str, data: object) -> str:
        reference = f"{self.settings.reference_prefix}{len(self.records) + 1:06d}"
        self.records[key] = (reference, data)
        self.writes[key] += 1
        return reference

    def find(self, key: str, data: object = None) -> str | None:
        self._check_up("find")
        found = self.records.get(key)
        return None if found is None else found[0]

    def close(self) -> None:
        """What is unsaved is lost, as when an app closes; the records stay."""
        self.unsaved.clear()
