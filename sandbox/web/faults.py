"""Fault injection and slowness: what makes the sandbox behave like a tired legacy server."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

#: HTTP 500 page; page cut off half-way; "record locked" refusal; very slow answer
KINDS = ("error500", "truncated", "locked", "stall")


@dataclass(frozen=True)
class Fault:
    kind: str
    after_commit: bool = False  #: for saves: the change is committed, then the answer breaks


class FaultPlan:
    """Draws faults from one seeded generator, so a run with a given seed is repeatable."""

    def __init__(
        self,
        rate: float,
        kinds: tuple[str, ...],
        *,
        latency: float = 0.0,
        jitter: float = 0.0,
        seed: int | None = None,
        break_every_nth_save: int = 0,
    ) -> None:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        self.rate = rate
        self.kinds = kinds
        self.latency = latency
        self.jitter = jitter
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        #: every Nth case save commits, then its answer breaks: a test sure to meet the fault
        #: that random draws reach only by chance
        self.break_every_nth_save = break_every_nth_save
        self._saves = 0

    def nth_save_breaks(self) -> Fault | None:
        """Counts a case save; every ``break_every_nth_save``-th breaks after committing."""
        if self.break_every_nth_save <= 0:
            return None
        with self._lock:
            self._saves += 1
            if self._saves % self.break_every_nth_save:
                return None
        return Fault("error500", after_commit=True)

    def delay(self) -> float:
        """Seconds to wait before answering (base latency plus jitter)."""
        if not self.jitter:
            return self.latency
        with self._lock:
            return self.latency + self._random.uniform(0, self.jitter)

    def draw(self, *, save: bool, lockable: bool) -> Fault | None:
        """A fault for this request, or None; ``locked`` only where a record can be locked."""
        if not self.rate or not self.kinds:
            return None
        choices = [k for k in self.kinds if k != "locked" or lockable]
        if not choices:
            return None
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            kind = self._random.choice(choices)
            after = save and kind != "locked" and self._random.random() < 0.5
        return Fault(kind, after_commit=after)

    def cut(self, length: int) -> int:
        """Where to cut a half-rendered page."""
        with self._lock:
            return int(length * self._random.uniform(0.3, 0.7))
