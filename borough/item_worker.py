"""Work one claimed item to a decided state, never submitting it twice (DESIGN invariant 2).

After any failure once the intent was recorded, the target is asked (``find_existing``)
before anything is decided: found -> DONE, certainly absent -> retry or FAIL as the error
says, cannot tell now -> re-check later, cannot tell at all -> NEEDS_REVIEW.
Every state change writes its audit record inside the ledger transaction (write-ahead);
the intent also proves the run's lease there. A lost lease is never an item failure: it
stops the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from loguru import logger
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from borough.bot import Bot, Item
from borough.config.models import RetryPolicy
from borough.context import RunContext
from borough.errors import (
    AppRefusedError,
    AuditError,
    BusinessRuleError,
    LeaseLostError,
    NeedsReviewError,
    SkipItem,
    TransientError,
)
from borough.item_records import Deferred, Record, item_scope
from borough.ledger import Claim, ItemQueue, ItemRecord, ItemState, RunCounts
from borough.ledger.lease import RunLease
from borough.ledger.models import ItemData
from borough.ledger.moves import Move
from borough.ledger.runs import utcnow

if TYPE_CHECKING:
    from borough.audit.trail import AuditTrail
    from borough.batches import SaveBatch
    from borough.observe import RunObserver
    from borough.runtime import Runtime


class RunCancelled(BaseException):
    """The run was asked to stop (SIGTERM / Ctrl+C); not an item failure."""


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, BusinessRuleError | TransientError | NeedsReviewError | SkipItem):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


@dataclass
class ItemWorker:
    runtime: Runtime
    bot: Bot[Any]
    ctx: RunContext
    trail: AuditTrail
    policy: RetryPolicy
    counts: RunCounts
    observer: RunObserver
    lease: RunLease | None = None
    check_first: bool = False  # find_existing before process() (borough.batches)
    batch: SaveBatch | None = None  # items held by the app until bot.save()
    #: moves held for a batch's one ledger write (borough.item_batch); None: write each now
    deferred: list[Deferred] | None = None

    @property
    def _items(self) -> ItemQueue:
        return self.runtime.ledger.items

    def work(self, claim: Claim) -> ItemState:
        record = self._items.get(claim.item_id, unseal=True)
        self.ctx.item = scope = item_scope(record, claim)
        state_holder = {"claim": claim}
        self._begin_item()
        try:
            item = self._rebuild(record)
        except ValidationError as exc:
            return self._finish(claim, ItemState.FAILED, error=f"stored data is invalid now: {exc}")
        for value, category in item.personal_values(type(self.bot).personal):
            self.runtime.redactor.add_personal(value, category)
        if claim.state is ItemState.IN_FLIGHT:
            return self._settle_orphan(claim, item)
        if self.check_first:
            found = self._check_first(claim, item)
            if found is not None:
                return found

        def intent(step: str, target: str | None) -> None:
            held = state_holder["claim"]

            def record() -> None:
                self._emit("item.intent", held, step=step, target=target, outcome="pending")

            def mark() -> Claim:
                return self._items.mark_in_flight(held, lease=self.lease, audit=record)

            if self.lease is None:
                state_holder["claim"] = mark()
            else:
                state_holder["claim"] = self.runtime.ledger.runs.under_lease(self.lease, mark)

        scope.on_intent = intent
        try:
            if not type(self.bot).declares_intent:
                intent("process", None)
            reference = self.bot.process(self.ctx, item)
        except SkipItem as exc:
            return self._finish(state_holder["claim"], ItemState.SKIPPED, error=str(exc))
        except (LeaseLostError, AuditError):
            raise  # a lost lease or an unwritable trail stops the run: no further intent
        except (RunCancelled, KeyboardInterrupt, AppRefusedError):
            # a refused robot (SignInError too) stops the run once; its item waits
            self._abandon(state_holder["claim"])
            raise
        except DBAPIError as exc:
            if not self.runtime.ledger.reachable():
                raise  # the ledger is away: the run pauses; the item is settled on return
            return self._after_failure(state_holder["claim"], item, exc)
        except Exception as exc:
            if self.batch is not None and state_holder["claim"].state is ItemState.IN_FLIGHT:
                # the app may hold part of it: saved first, so the lookup tells the truth
                self.batch.save_failing(state_holder["claim"], item, exc)
                return self._items.get(claim.item_id).state
            return self._after_failure(state_holder["claim"], item, exc)
        finally:
            scope.on_intent = None
        if self.batch is not None and state_holder["claim"].state is ItemState.IN_FLIGHT:
            return self.batch.stage(state_holder["claim"], item, reference)
        return self._finish(state_holder["claim"], ItemState.DONE, reference=reference)

    def _check_first(self, claim: Claim, item: Item[Any]) -> ItemState | None:
        """check_first: an untouched item the target already holds is DONE, not redone."""
        found = self._check_target(claim, item, "checked before processing", first=True)
        if found is _UNSETTLED:
            return self._items.get(claim.item_id).state
        if not found:
            return None
        reference = found if isinstance(found, str) else None
        return self._finish(claim, ItemState.DONE, reference=reference, found_first=True)

    # -- the worker as borough.batches settles a saved (or failed) batch -------------------
    def batch_done(self, claim: Claim, reference: str | None, detail: Mapping[str, Any]) -> None:
        self._finish(claim, ItemState.DONE, reference=reference, more=detail)

    def batch_failed(self, claim: Claim, item: Item[Any], exc: Exception) -> None:
        self._after_failure(claim, item, exc)

    def batch_parked(self, claim: Claim) -> None:
        self._abandon(claim)

    # -- failure handling ------------------------------------------------------------------
    def _after_failure(self, claim: Claim, item: Item[Any], exc: Exception) -> ItemState:
        error = describe_error(exc)
        if not isinstance(exc, BusinessRuleError | SkipItem):
            logger.opt(exception=exc).bind(action="item.error").debug("item error detail")
        self._capture_evidence(claim, error)
        if claim.state is ItemState.CLAIMED:
            return self._decide(claim, exc, error)
        found = self._check_target(claim, item, error)
        if found is _UNSETTLED:
            return self._items.get(claim.item_id).state
        if isinstance(found, str) or found is True:
            return self._finish(
                claim,
                ItemState.DONE,
                reference=found if isinstance(found, str) else None,
                recovered=True,
            )
        return self._decide(claim, exc, error)

    def _decide(self, claim: Claim, exc: Exception, error: str) -> ItemState:
        """The target is known untouched: choose by the error what happens next."""
        if isinstance(exc, BusinessRuleError):
            return self._finish(claim, ItemState.FAILED, error=error)
        if isinstance(exc, NeedsReviewError):
            return self._finish(claim, ItemState.NEEDS_REVIEW, error=error)
        if isinstance(exc, type(self.bot).retryable):
            if claim.attempt < self.policy.attempts:
                delay = self.policy.delay(claim.attempt)
                self._change(
                    Move.release(
                        claim,
                        not_before=utcnow() + timedelta(seconds=delay),
                        error=self.runtime.redactor.redact(error),
                    ),
                    self._record(
                        "item.retry",
                        claim,
                        outcome="retry",
                        error=error,
                        detail={"retry_in_seconds": delay},
                    ),
                    after=lambda: self._retried(claim, error),
                )
                return ItemState.PENDING
            error = f"gave up after {claim.attempt} attempts: {error}"
        return self._finish(claim, ItemState.FAILED, error=error)

    def _check_target(
        self, claim: Claim, item: Item[Any], error: str, *, first: bool = False
    ) -> object:
        """find_existing: a reference / True if there, None if absent, _UNSETTLED if unknown.

        ``first``: asked before processing (check_first): the item is untouched, so a
        lookup that cannot answer now sends it back to wait, never to be processed blind.
        """
        try:
            reference = self.bot.find_existing(self.ctx, item)
        except TransientError as check:
            checked = str(check)
            if first:
                self._decide(claim, check, f"{error}; the target could not be checked: {check}")
                return _UNSETTLED
            if claim.attempt < self.policy.attempts:
                delay = self.policy.delay(claim.attempt)
                self._change(
                    Move.park(
                        claim,
                        not_before=utcnow() + timedelta(seconds=delay),
                        error=self.runtime.redactor.redact(
                            f"{error}; target check failed: {check}"
                        ),
                    ),
                    self._record(
                        "item.check_later",
                        claim,
                        outcome="unknown",
                        error=checked,
                        detail={"recheck_in_seconds": delay},
                    ),
                    after=lambda: self.observer.on_item(
                        claim.item_id, ItemState.IN_FLIGHT, checked
                    ),
                )
                return _UNSETTLED
            self._finish(
                claim,
                ItemState.NEEDS_REVIEW,
                error=f"{error}; the target could not be checked: {check}",
            )
            return _UNSETTLED
        except AppRefusedError:
            self._abandon(claim)  # parked: checked by the next run, once the robot may sign in
            raise
        except Exception as check:
            self._finish(
                claim,
                ItemState.NEEDS_REVIEW,
                error=f"{error}; cannot tell whether the target holds it: {describe_error(check)}",
            )
            return _UNSETTLED
        if not first:
            self._emit(
                "item.checked",
                claim,
                step="find_existing",
                outcome="found" if reference else "absent",
            )
        return reference

    def _settle_orphan(self, claim: Claim, item: Item[Any]) -> ItemState:
        """An IN_FLIGHT item left by a dead run (or parked): look before doing anything."""
        self.counts.recovered += 1
        found = self._check_target(claim, item, "interrupted while in flight")
        if found is _UNSETTLED:
            return self._items.get(claim.item_id).state
        if found:
            return self._finish(
                claim,
                ItemState.DONE,
                reference=found if isinstance(found, str) else None,
                recovered=True,
            )
        self._change(
            Move.release(claim, not_before=None, error=None),
            self._record(
                "item.recovered",
                claim,
                outcome="pending",
                detail={"decision": "absent from target; will be processed again"},
            ),
            after=lambda: self.observer.on_item(
                claim.item_id, ItemState.PENDING, "recovered: not in target"
            ),
        )
        return ItemState.PENDING

    def _abandon(self, claim: Claim) -> None:
        """Stopping mid-item: untouched items go back; in-flight ones wait for a check."""

        record = self._record("item.abandoned", claim, outcome="cancelled")
        try:
            if claim.state is ItemState.CLAIMED:
                self._change(Move.release(claim, not_before=None, error="run cancelled"), record)
            else:
                move = Move.park(claim, not_before=utcnow(), error="run cancelled mid-item")
                self._change(move, record)
        except LeaseLostError as exc:
            self.record_lease_lost(claim, exc)

    def record_lease_lost(self, claim: Claim, exc: LeaseLostError) -> None:
        """An item this run held was taken over: say so in the trail (never silently)."""
        logger.bind(action="item.lease_lost").error("{}", exc)
        self._emit("item.lease_lost", claim, outcome="lost", error=str(exc))

    # -- recording -------------------------------------------------------------------------
    def _finish(
        self,
        claim: Claim,
        state: ItemState,
        *,
        reference: str | None = None,
        error: str | None = None,
        recovered: bool = False,
        found_first: bool = False,
        more: Mapping[str, Any] | None = None,
    ) -> ItemState:
        error = self.runtime.redactor.redact(error) if error else None
        detail: dict[str, Any] = {"reference": reference} if reference else {}
        if recovered:
            detail["recovered"] = True
        if found_first:
            detail["found_first"] = True
        detail.update(more or {})
        self._change(
            Move.finish(claim, state, reference=reference, error=error),
            self._record(
                f"item.{state.value}",
                claim,
                outcome=state.value,
                error=error,
                detail=detail or None,
            ),
            after=lambda: self._counted(claim, state, reference or error),
        )
        return state

    def _counted(self, claim: Claim, state: ItemState, note: str | None) -> None:
        self.counts.add(state)
        self.observer.on_item(claim.item_id, state, note)

    def _retried(self, claim: Claim, error: str) -> None:
        self.counts.retried += 1
        self.observer.on_item(claim.item_id, ItemState.PENDING, error)

    def _change(
        self, move: Move, audit: Record, *, after: Callable[[], object] | None = None
    ) -> None:
        """Write ``move`` with its record now, or hold both for the batch's one write."""
        if self.deferred is not None:
            self.deferred.append(Deferred(move, audit, after))
            return
        self._items.apply([move], audit=audit)
        if after is not None:
            after()

    def _record(self, action: str, claim: Claim, **fields: Any) -> Record:
        """The audit record of a change of the current item (its scope taken now)."""
        return Record(self.trail, action, claim, self.ctx.item, fields)

    def _emit(self, action: str, claim: Claim, **fields: Any) -> None:
        self._record(action, claim, **fields)()

    def _begin_item(self) -> None:
        for connector in self.ctx.open_connectors():
            try:
                connector.begin_item()
            except Exception as exc:
                logger.bind(action="connector.begin_item").warning(
                    "app {} could not prepare for the next item: {}", connector.name, exc
                )

    def _capture_evidence(self, claim: Claim, error: str) -> None:
        for connector in self.ctx.open_connectors():
            try:
                for name, content, kind in connector.failure_evidence():
                    self.ctx.capture(
                        f"attempt{claim.attempt}-{connector.name}-{name}",
                        content,
                        kind=kind,
                        step="failure",
                    )
            except Exception as exc:
                logger.bind(action="evidence.error").warning(
                    "could not capture evidence from {}: {}", connector.name, exc
                )

    def _rebuild(self, record: ItemRecord | ItemData) -> Item[Any]:
        schema = type(self.bot).schema
        data: Any = record.data
        if schema is not None and data is not None:
            data = schema.model_validate(data)
        return Item(key=record.key or "", data=data, source=record.source)


_UNSETTLED = object()
