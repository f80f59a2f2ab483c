"""Items worked in batches (``batch: N``): one ledger write and one audit group each way.

A batch keeps every rule of one item at a time (docs/architecture.md, "Write-ahead audit"
and "Leases and self-fencing"), paid once per batch instead of once per item:

1. up to N due items are claimed in one transaction (the run proves its lease in it);
2. their ``item.intent`` records are written as one audit group (one fsync, one signed
   head) inside the one transaction that moves them all IN_FLIGHT, again proving the
   lease: every intent is on disk and committed before any ``process``;
3. the items are processed one by one; before each the run checks its lease (no database
   access while the heartbeat keeps up; a process paused past its lease renews first and
   is fenced if it was taken over), so a batch never outlives its lease;
4. their outcomes (DONE, FAILED, SKIPPED, a retry, a later re-check) are written as one
   audit group inside one transaction. An item that raises is settled as ever
   (``find_existing`` first, as it is IN_FLIGHT); its outcome joins the others.

Killed at any moment, a batch leaves its items CLAIMED (never sent: back to PENDING) or
IN_FLIGHT with their intent: the next run looks each one up with ``find_existing`` before
anything else, so ``batch > 1`` needs one (:mod:`borough.batches` refuses it otherwise).
Stopped by a signal (or a refusing app), the outcomes so far are written, the item being
worked waits for its check and the items never started go back to PENDING.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from borough.bot import Item
from borough.context import ItemScope
from borough.errors import AppRefusedError, AuditError, LeaseLostError, SkipItem
from borough.item_records import Deferred, Record, item_scope
from borough.item_worker import ItemWorker, RunCancelled
from borough.ledger import Claim, ItemState
from borough.ledger.models import ItemData
from borough.ledger.moves import Move


@dataclass
class Started:
    """An item of the batch ready for ``process``: its claim, scope and rebuilt data."""

    claim: Claim
    scope: ItemScope
    item: Item[Any]


class BatchWorker(ItemWorker):
    """An :class:`ItemWorker` that works claimed items ``batch`` at a time."""

    def work_batch(self, claims: list[Claim]) -> None:
        """Work ``claims`` (CLAIMED by this run) to decided states, as the module says."""
        self.deferred = []
        write = True
        try:
            self._work_batch(claims)
        except (LeaseLostError, AuditError):
            write = False  # nothing more may be written for this run's items
            raise
        except DBAPIError:
            write = self.runtime.ledger.reachable()  # away: settled on return (adopted)
            raise
        finally:
            held, self.deferred = self.deferred, None
            self.ctx.item = None
            if write:
                self._write(held)

    def _work_batch(self, claims: list[Claim]) -> None:
        records = self._items.claimed(claims)
        started: list[Started] = []
        for n, claim in enumerate(claims):
            try:
                ready = self._prepare(claim, records[claim.item_id])
            except BaseException:
                for work in started:  # checked, not yet meant: never sent
                    self.ctx.item = work.scope
                    self._abandon(work.claim)
                self._release_unstarted([(c, records[c.item_id]) for c in claims[n + 1 :]])
                raise
            if ready is not None:
                started.append(ready)
        if not started:
            return
        try:
            self._record_intents(started)
        except (LeaseLostError, AuditError):
            raise
        except BaseException:
            self._release_never_sent(started)  # stopped before any process()
            raise
        for n, work in enumerate(started):
            try:
                self._process(work)
            except (LeaseLostError, AuditError):
                raise
            except BaseException:
                self._release_never_sent(started[n + 1 :])
                raise

    def _prepare(self, claim: Claim, record: ItemData) -> Started | None:
        """Rebuild one item (invalid stored data: FAILED) and check it first if asked."""
        self.ctx.item = scope = item_scope(record, claim)
        try:
            item = self._rebuild(record)
        except ValidationError as exc:
            self._finish(claim, ItemState.FAILED, error=f"stored data is invalid now: {exc}")
            return None
        for value, category in item.personal_values(type(self.bot).personal):
            self.runtime.redactor.add_personal(value, category)
        if self.check_first and self._check_first(claim, item) is not None:
            return None
        return Started(claim, scope, item)

    def _record_intents(self, started: list[Started]) -> None:
        """Every intent on disk (one group) and committed (one transaction) before any
        ``process``; the lease proven in that transaction."""
        size = len(started)
        fields = {"step": "process", "outcome": "pending", "detail": {"batch": size}}
        records = [
            Record(self.trail, "item.intent", work.claim, work.scope, fields) for work in started
        ]

        def intents() -> None:
            self.trail.emit_many(
                [record.values() for record in records],
                summary=f"item.intent pending: a batch of {size}",
            )

        claims = [work.claim for work in started]
        lease = self.lease
        if lease is None:
            marked = self._items.mark_many_in_flight(claims, audit=intents)
        else:
            marked = self.runtime.ledger.runs.under_lease(
                lease, lambda: self._items.mark_many_in_flight(claims, lease=lease, audit=intents)
            )
        for work, claim in zip(started, marked, strict=True):
            work.claim = claim
            work.scope.intent_recorded = True  # ctx.intent() in process is a no-op

    def _process(self, work: Started) -> None:
        """One item of the batch; its outcome is held for the batch's write."""
        self.ctx.item = work.scope
        claim, item = work.claim, work.item
        if self.lease is not None:
            self.runtime.ledger.runs.keep(self.lease)  # fenced after a long pause: stop
        self._begin_item()
        try:
            reference = self.bot.process(self.ctx, item)
        except SkipItem as exc:
            self._finish(claim, ItemState.SKIPPED, error=str(exc))
            return
        except (LeaseLostError, AuditError):
            raise
        except (RunCancelled, KeyboardInterrupt, AppRefusedError):
            self._abandon(claim)  # touched: waits for the next run's check
            raise
        except DBAPIError as exc:
            if not self.runtime.ledger.reachable():
                raise
            self._after_failure(claim, item, exc)
            return
        except Exception as exc:
            self._after_failure(claim, item, exc)
            return
        self._finish(claim, ItemState.DONE, reference=reference)

    def _release_unstarted(self, rest: list[tuple[Claim, ItemData]]) -> None:
        """Claimed items the batch never reached go back to PENDING (nothing recorded)."""
        for claim, record in rest:
            self.ctx.item = item_scope(record, claim)
            self._abandon(claim)

    def _release_never_sent(self, rest: list[Started]) -> None:
        """Items whose intent is recorded but whose ``process`` never began: PENDING again
        (this process knows the target was not touched for them)."""
        for work in rest:
            self.ctx.item = work.scope
            self._change(
                Move.release(work.claim, not_before=None, error="run stopped mid-batch"),
                self._record(
                    "item.abandoned",
                    work.claim,
                    outcome="cancelled",
                    detail={"decision": "never sent to the target: back to PENDING"},
                ),
            )

    def _write(self, held: list[Deferred] | None) -> None:
        """The batch's outcomes: one audit group inside one ledger transaction."""
        if not held:
            return
        records = [deferred.audit for deferred in held]

        def audit() -> None:
            self.trail.emit_many(
                [record.values() for record in records],
                summary=_summary(held),
            )

        self._items.apply([deferred.move for deferred in held], audit=audit)
        for deferred in held:
            if deferred.after is not None:
                deferred.after()


def _summary(held: list[Deferred]) -> str:
    by_state: dict[str, int] = {}
    for deferred in held:
        by_state[deferred.audit.action] = by_state.get(deferred.audit.action, 0) + 1
    parts = ", ".join(f"{count} {action}" for action, count in sorted(by_state.items()))
    return f"a batch of {len(held)} items: {parts}"
