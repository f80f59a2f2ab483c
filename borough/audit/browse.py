"""Reading the trail for people through the index: pages, an item's history, a person's
records (subject access), and exports that stream in constant memory.

Every query first lets the index catch up with the trails this machine can read, then asks
the index which records match and reads just those lines from their segment files
(:mod:`borough.audit.fetch`); no reader walks a whole trail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from borough.audit.fetch import Fetcher, TrailFolders
from borough.audit.index import catch_up
from borough.audit.indexrows import Filters, IndexStore
from borough.host import host_name

if TYPE_CHECKING:
    from borough.audit.check import Installation
    from borough.runtime import Runtime

COUNT_CAP = 10_000  #: pages count matches up to this, then say "more than"


@dataclass
class Page:
    records: list[dict[str, Any]]
    number: int
    size: int
    more: bool
    total: int  #: matches counted up to COUNT_CAP
    notes: list[str] = field(default_factory=list)

    @property
    def capped(self) -> bool:
        return self.total >= COUNT_CAP


def record_ts(moment: datetime | None) -> str:
    """A time as records write it (UTC), for comparing with the index's ``ts``."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class AuditView:
    """The index and the trails readable from this machine."""

    store: IndexStore
    folders: TrailFolders
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, runtime: Runtime) -> AuditView:
        return cls(runtime.ledger.audit_index, trail_folders(runtime))

    def catch_up(self) -> AuditView:
        """Index what the readable trails hold and the index does not yet (cheap when current)."""
        for trail, folder in self.folders.reachable(self._known()).items():
            try:
                torn = catch_up(self.store, trail, folder).torn_bytes
            except Exception as exc:  # a read-only or busy ledger: answer from what is indexed
                note = f"the audit index could not be brought up to date ({exc})"
                logger.bind(action="audit.index_failed").warning(note)
                self.notes.append(note + "; the newest records may be missing")
                break
            if torn:
                self.notes.append(
                    f"the trail of {trail} ends with an incomplete record ({torn} bytes, a "
                    "writer stopped mid-write): every complete record was read; run `borough "
                    "audit repair` on that machine to set it right"
                )
        return self

    def _known(self) -> list[str]:
        trails = {self.folders.local_trail, *self.folders.configured}
        return sorted(trails)

    def page(self, filters: Filters, number: int, size: int) -> Page:
        """Page ``number`` (from 1) of the matching records, newest first."""
        rows = self.store.page(filters, limit=size + 1, offset=(number - 1) * size)
        with Fetcher(self.folders) as fetcher:
            found = list(fetcher.records(rows[:size]))
            notes = self.notes + fetcher.notes()
        total = self.store.total(filters, cap=COUNT_CAP)
        return Page(found, number, size, len(rows) > size, total, notes)

    def history(self, item: str, limit: int = 1000) -> list[dict[str, Any]]:
        """An item's records, oldest first (at most ``limit``)."""
        found = []
        with Fetcher(self.folders) as fetcher:
            for row in self.store.stream(Filters(item=item)):
                found.append(fetcher.record(row))
                if len(found) >= limit:
                    break
            self.notes += fetcher.notes()
        return found

    def stream(self, filters: Filters, *, chain_order: bool = False) -> Iterator[dict[str, Any]]:
        """Every matching record, oldest first (or each writer's in chain order), one at a
        time (for exports)."""
        with Fetcher(self.folders) as fetcher:
            for row in self.store.stream(filters, chain_order=chain_order):
                yield fetcher.record(row)
            self.notes += fetcher.notes()

    def count(self, filters: Filters) -> int:
        return self.store.total(filters, cap=2**62)


def person_filters(token: str) -> Filters:
    return Filters(person=token)


def range_filters(since: datetime | None, until: datetime | None, *, trail: str = "") -> Filters:
    return replace(Filters(), since=record_ts(since), until=record_ts(until), trail=trail)


def trail_folders(runtime: Installation) -> TrailFolders:
    configured = {host: Path(path) for host, path in runtime.config.settings.audit.trails.items()}
    return TrailFolders(
        host_name(),
        runtime.paths.audit,
        configured,
        registered=runtime.ledger.audit_writers.folders,
    )
