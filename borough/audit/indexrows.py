"""What the audit index keeps of a record, and the store it is kept in.

The index is derived data beside the chain (the files stay the evidence): one row per record
with what queries need, and the record's person tokens. :class:`IndexStore` is the ledger's
``borough.ledger.auditindex.AuditIndexBook``; this module knows nothing of SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from borough.audit.tokens import is_token

#: (seq, hash, segment, byte offset, length): what ``verify --full`` holds against the chain
ChainRow = tuple[int, str, int, int, int]


class IndexRow(NamedTuple):
    """One record as the index holds it; ``segment``/``offset``/``length`` locate its line
    (a named tuple: the writer makes one a record, and the store inserts it as it is)."""

    trail: str
    seq: int
    ts: str
    action: str | None
    outcome: str | None
    run_id: str | None
    bot: str | None
    item: str | None
    actor: str | None
    segment: int
    offset: int
    length: int
    hash: str

    def summary(self) -> dict[str, Any]:
        """The record's indexed fields, for a page when its file cannot be read from here."""
        return {
            "host": self.trail,
            "seq": self.seq,
            "ts": self.ts,
            "action": self.action,
            "outcome": self.outcome,
            "run_id": self.run_id,
            "bot": self.bot,
            "item": self.item,
            "actor": self.actor,
            "hash": self.hash,
            "detail": None,
            "error": None,
            "evidence": [],
            "subjects": [],
        }


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def index_row(
    trail: str, record: dict[str, Any], *, segment: int, offset: int, length: int
) -> IndexRow:
    return IndexRow(
        trail,
        int(record["seq"]),
        str(record["ts"]),
        _text(record.get("action"), 100),
        _text(record.get("outcome"), 40),
        _text(record.get("run_id"), 64),
        _text(record.get("bot"), 100),
        _text(record.get("item"), 64),
        _text(record.get("actor"), 255),
        segment,
        offset,
        length,
        str(record["hash"]),
    )


def people_of(record: dict[str, Any]) -> set[str]:
    """The person tokens a record is about: its item's token and its subjects."""
    found = {s for s in record.get("subjects") or () if isinstance(s, str) and is_token(s)}
    item = record.get("item")
    if isinstance(item, str) and is_token(item):
        found.add(item)
    return found


class Entry(NamedTuple):
    """A record for the index: its row and its person tokens."""

    row: IndexRow
    people: frozenset[str]


def entry_of(
    trail: str, record: dict[str, Any], *, segment: int, offset: int, length: int
) -> Entry:
    row = index_row(trail, record, segment=segment, offset=offset, length=length)
    return Entry(row, frozenset(people_of(record)))


@dataclass(frozen=True)
class Filters:
    """What the audit browser narrows to (empty: everything)."""

    run: str = ""
    item: str = ""
    person: str = ""
    action: str = ""  #: a prefix
    actor: str = ""
    since: str = ""  #: ts ≥ (UTC, record format)
    until: str = ""  #: ts <
    trail: str = ""  #: one writer's records


@dataclass(frozen=True)
class Mark:
    """Every record of a trail up to ``seq`` is indexed; its line ends at ``end`` in
    segment ``segment``."""

    seq: int
    hash: str
    segment: int
    end: int


@runtime_checkable
class IndexStore(Protocol):
    """The index's storage (the ledger database)."""

    def add(self, entries: Sequence[Entry]) -> None: ...

    def last(self, trail: str) -> IndexRow | None: ...

    def mark(self, trail: str) -> Mark | None: ...

    def set_mark(self, trail: str, mark: Mark) -> None: ...

    def count_after(self, trail: str, seq: int) -> int: ...

    def forget(self, trail: str, *, through_seq: int | None = None) -> int: ...

    def count(self, trail: str) -> int: ...

    def page(self, filters: Filters, *, limit: int, offset: int = 0) -> list[IndexRow]: ...

    def total(self, filters: Filters, *, cap: int) -> int: ...

    def stream(
        self, filters: Filters, *, newest_first: bool = False, chain_order: bool = False
    ) -> Iterator[IndexRow]: ...

    def of_trail(self, trail: str, *, after_seq: int = 0) -> Iterator[IndexRow]: ...

    def chain_rows(self, trail: str) -> Iterator[ChainRow]: ...

    def trails(self) -> list[str]: ...


def group_people(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    return [
        {"token": token, "ts": e.row.ts, "trail": e.row.trail, "seq": e.row.seq}
        for e in entries
        for token in sorted(e.people)
    ]
