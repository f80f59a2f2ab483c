"""A fenced change of a claimed item, as a value: applied alone or with a batch's others
(:meth:`borough.ledger.items.ItemQueue.apply`)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from borough.errors import LeaseLostError
from borough.ledger.models import Claim, ItemState


@dataclass(frozen=True)
class Move:
    """One fenced change of a claimed item (applied alone or with a batch's others)."""

    claim: Claim
    state: ItemState
    expect: tuple[ItemState, ...]
    values: dict[str, Any]

    def kind(self) -> Hashable:
        """Moves of one kind are one statement (executemany): same state, same columns."""
        return (self.state, self.expect, tuple(sorted(self.values)))

    def alike(self) -> Hashable:
        """Moves alike set the same values on one run's items: one ``UPDATE ... IN``."""
        return (self.state, self.expect, self.claim.run_id, tuple(sorted(self.values.items())))

    @classmethod
    def intent(cls, claim: Claim) -> Move:
        return cls(claim, ItemState.IN_FLIGHT, (ItemState.CLAIMED,), {})

    @classmethod
    def finish(
        cls, claim: Claim, state: ItemState, *, reference: str | None, error: str | None
    ) -> Move:
        if not state.terminal:
            raise ValueError(f"{state} is not a final state")
        values = {"reference": reference, "error": error, "owner_run": None}
        return cls(claim, state, _HELD, values)

    @classmethod
    def release(cls, claim: Claim, *, not_before: datetime | None, error: str | None) -> Move:
        values = {"not_before": not_before, "error": error, "owner_run": None}
        return cls(claim, ItemState.PENDING, _HELD, values)

    @classmethod
    def park(cls, claim: Claim, *, not_before: datetime, error: str | None) -> Move:
        values = {"not_before": not_before, "error": error, "owner_run": None}
        return cls(claim, ItemState.IN_FLIGHT, (ItemState.IN_FLIGHT,), values)


_HELD = (ItemState.CLAIMED, ItemState.IN_FLIGHT)


def lost(claims: Sequence[Claim]) -> LeaseLostError:
    claim = claims[0]
    if len(claims) == 1:
        return LeaseLostError(
            f"item {claim.item_id} is no longer held by run {claim.run_id} "
            f"(fence {claim.fence}); another run or an operator took it over"
        )
    ids = ", ".join(str(c.item_id) for c in claims)
    return LeaseLostError(
        f"one or more of items {ids} are no longer held by run {claim.run_id}; another run "
        "or an operator took them over"
    )
