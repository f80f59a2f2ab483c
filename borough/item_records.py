"""What the item worker records about an item: its scope, its audit records and the moves
a batch holds for its one write (:mod:`borough.item_batch`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from borough.context import ItemScope
from borough.ledger import Claim, ItemRecord, ItemState
from borough.ledger.models import ItemData
from borough.ledger.moves import Move

if TYPE_CHECKING:
    from borough.audit.trail import AuditTrail


def item_scope(record: ItemRecord | ItemData, claim: Claim) -> ItemScope:
    """The scope of ``record`` worked under ``claim`` (its intent recorded if IN_FLIGHT)."""
    return ItemScope(
        token=record.key_token,
        attempt=claim.attempt,
        data_categories=tuple(record.data_categories),
        subjects=tuple(record.subjects),
        intent_recorded=claim.state is ItemState.IN_FLIGHT,
    )


@dataclass(frozen=True)
class Record:
    """An item's audit record, its scope taken when the change was decided: written alone
    (call it) or with a batch's others (:meth:`values` for ``AuditTrail.emit_many``)."""

    trail: AuditTrail
    action: str
    claim: Claim
    scope: ItemScope | None
    fields: Mapping[str, Any]

    def __call__(self) -> None:
        self.trail.emit(self.action, **self._arguments())

    def values(self) -> dict[str, Any]:
        return self.trail.fields(self.action, **self._arguments())

    def _arguments(self) -> dict[str, Any]:
        scope = self.scope
        return {
            "item": scope.token if scope else None,
            "attempt": self.claim.attempt,
            "data_categories": scope.data_categories if scope else (),
            "subjects": scope.subjects if scope else (),
            **self.fields,
        }


@dataclass(frozen=True)
class Deferred:
    """A batch's move held for its one ledger write: the record, then what follows it."""

    move: Move
    audit: Record
    after: Callable[[], object] | None = None
