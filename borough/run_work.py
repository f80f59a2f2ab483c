"""A run's item loop: claim, adopt and work its bot's items until none is left to it.

Kept apart from :mod:`borough.runner` (seats, set-up, the run's course) and
:mod:`borough.run_end` (its end, fenced or not) so each stays one job. :class:`ItemLoop` is
the loop half of the runner's ``_Run``: it works on the run's own state (its lease, trail,
counts) and proves the lease before every claim; an item whose hold is lost fences the run.
"""

from __future__ import annotations

import math
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from borough.audit.trail import AuditTrail
from borough.batches import ItemRules
from borough.bot import Bot
from borough.config.models import LedgerSettings
from borough.context import RunContext
from borough.errors import AuditError, LeaseLostError, RunFencedError
from borough.item_batch import BatchWorker
from borough.item_worker import ItemWorker
from borough.ledger import Claim, ItemRecord, ItemState, RunCounts, RunStatus
from borough.ledger.lease import RunLease
from borough.ledger.runs import utcnow
from borough.observe import RunObserver
from borough.reaper import reap_dead_runs
from borough.runtime import Runtime

if TYPE_CHECKING:
    from borough.runner import RunRequest

MAX_WAIT_SLICE = 5.0
SIBLING_POLL = 0.5  #: seconds between looks at other runs of the bot still holding items
#: seconds between looks for orphaned items while there is work to claim (and whenever
#: there is none); the counts on the run row are saved as often (and at the end)
ORPHAN_POLL = 1.0


class Cadence:
    """Something done every ``every`` seconds (due at once at first), or sooner if asked."""

    def __init__(self, every: float) -> None:
        self.every = every
        self._last: float | None = None

    def due(self) -> bool:
        return self._last is None or self.since() >= self.every

    def since(self) -> float:
        """Seconds since it was last done (infinite if never)."""
        return math.inf if self._last is None else time.monotonic() - self._last

    def done(self) -> None:
        self._last = time.monotonic()

    def now(self) -> None:
        """Due at the next look, however recently it was done."""
        self._last = None


class ItemLoop:
    """The runner's item work loop (a base of ``borough.runner._Run``, which sets these)."""

    runtime: Runtime
    bot_cls: type[Bot[Any]]
    request: RunRequest
    rules: ItemRules
    observer: RunObserver
    counts: RunCounts
    ledger_settings: LedgerSettings
    run_id: str
    trail: AuditTrail
    lease: RunLease
    ctx: RunContext
    _counts_saving: Cadence  #: every ORPHAN_POLL seconds

    def _work(self, worker: ItemWorker) -> None:
        """Work every due item; a batch still held by the app is saved before the run
        waits or ends, and parked for the next run's check if the run stops mid-way."""
        batch = worker.batch
        try:
            self._work_items(worker)
            if batch is not None:
                batch.save()
        except (LeaseLostError, AuditError):
            raise  # nothing more may be written for this run's items
        except BaseException:
            if batch is not None:
                batch.abandon()
            raise

    def _work_items(self, worker: ItemWorker) -> None:
        items = self.runtime.ledger.items
        runs = self.runtime.ledger.runs
        name, run_id = self.bot_cls.name, self.run_id
        worked = 0
        orphan_look = Cadence(ORPHAN_POLL)  # due at once: orphans are looked for first
        while self.request.limit is None or worked < self.request.limit:
            runs.keep(self.lease)
            orphans: list[Claim] = []
            if orphan_look.due():
                orphans = items.adopt_orphans(
                    name,
                    run_id,
                    audit=self._record_adoption,
                    keep=worker.batch.held if worker.batch is not None else (),
                )
                orphan_look.done()
            for claim in orphans:
                self._work_one(worker, claim)
            claims = runs.under_lease(self.lease, partial(self._claim, self._batch_size(worked)))
            if claims:
                self._work_claims(worker, claims)
                worked += len(claims)
                if worker.batch is not None and worker.batch.full:
                    worker.batch.save()
                continue
            self._save_counts()
            if orphans or orphan_look.since() > ORPHAN_POLL / 2:
                orphan_look.now()  # nothing to claim: look for orphans again before waiting
                continue
            if worker.batch is not None:
                worker.batch.save()  # before waiting (or ending): nothing held unsaved
            due = items.next_due(name)
            if due is None:
                if not self._siblings_to_wait_for():
                    return
                self.observer.on_wait(SIBLING_POLL)
                time.sleep(SIBLING_POLL)
                continue
            wait = min(max((due - utcnow()).total_seconds(), 0.05), MAX_WAIT_SLICE)
            self.observer.on_wait(wait)
            time.sleep(wait)

    def _siblings_to_wait_for(self) -> list[str]:
        """Other runs of this bot holding items this run may yet have to adopt.

        Several runs work one bot's items at once (``runs: N``, or a manual run beside a
        scheduled one). Nothing left to claim, this run still stays while another holds
        items and will either finish them (alive and renewing) or be reaped (its process
        gone, or another host silent past lease + grace): then its items are adopted here,
        not left CLAIMED or IN_FLIGHT until the bot's next run. A run of this host that is
        alive but silent (paused) is never reaped, so it is not waited for.
        """
        runs = self.runtime.ledger.runs
        reap_dead_runs(
            runs, self.trail, self.ledger_settings, by=self.run_id, bot=self.bot_cls.name
        )
        waiting = []
        for run_id in self.runtime.ledger.items.holders(self.bot_cls.name, besides=self.run_id):
            other = runs.get(run_id)
            if other.status is not RunStatus.RUNNING:
                waiting.append(run_id)  # ended: its items are adopted on the next pass
                continue
            silent = (utcnow() - (other.heartbeat_at or other.created_at)).total_seconds()
            paused_here = other.host == runs.host and silent > self.ledger_settings.lease_seconds
            if not paused_here:
                waiting.append(run_id)
        return waiting

    def _record_adoption(self, item: ItemRecord, claim: Claim | None) -> None:
        decision = (
            "checking the target before anything else"
            if claim is not None
            else "never sent to the target: back to PENDING"
        )
        self.trail.emit(
            "item.adopted" if claim is not None else "item.released",
            outcome=item.state.value if claim is not None else ItemState.PENDING.value,
            item=item.key_token,
            attempt=item.attempt,
            data_categories=item.data_categories,
            subjects=item.subjects,
            detail={"from_run": item.owner_run, "decision": decision, "ledger_id": item.id},
        )

    def _batch_size(self, worked: int) -> int:
        if self.request.limit is None:
            return self.rules.batch
        return min(self.rules.batch, self.request.limit - worked)

    def _claim(self, count: int) -> list[Claim]:
        items = self.runtime.ledger.items
        return items.claim_many(self.bot_cls.name, self.run_id, count, lease=self.lease)

    def _work_claims(self, worker: ItemWorker, claims: list[Claim]) -> None:
        if len(claims) == 1 or not isinstance(worker, BatchWorker):
            for claim in claims:
                self._work_one(worker, claim)
            return
        try:
            worker.work_batch(claims)
        except RunFencedError:
            raise
        except LeaseLostError as exc:
            self.lease.fence(f"it lost its hold on an item of its batch ({exc})")
            raise self.lease.error() from exc
        finally:
            self._save_counts(due=True)

    def _work_one(self, worker: ItemWorker, claim: Claim) -> None:
        try:
            worker.work(claim)
        except RunFencedError:
            raise
        except LeaseLostError as exc:
            worker.record_lease_lost(claim, exc)
            self.lease.fence(f"it lost its hold on item {claim.item_id} ({exc})")
            raise self.lease.error() from exc
        finally:
            self.ctx.item = None
            self._save_counts(due=True)

    def _save_counts(self, *, due: bool = False) -> None:
        """The counts on the run row (progress for people): at most every ORPHAN_POLL s
        while items are worked (``due``), and whenever the run runs out of work."""
        if due and not self._counts_saving.due():
            return
        self.runtime.ledger.runs.save_counts(self.run_id, self.counts)
        self._counts_saving.done()
