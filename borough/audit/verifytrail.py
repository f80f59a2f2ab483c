"""Verifying one writer's trail as ``audit verify`` does: incrementally from the last proven
point when there is one (``full=True`` walks everything, across both cores), with the index
held against the chain, and the new point remembered.

The verdict is the same whichever way the walk goes: an incremental walk that meets a
problem, or finds that the remembered point no longer holds, is redone in full, and a
parallel walk that meets one is redone in order; both name the first bad record exactly as
:func:`borough.audit.verify.verify_file` does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from borough.audit import records
from borough.audit.anchors import Anchor
from borough.audit.files import HEAD_NAME, LOG_NAME, PUBLIC_KEY_NAME
from borough.audit.head import HeadUnreadable, SignedHead, read_head
from borough.audit.index import catch_up
from borough.audit.indexrows import IndexRow, IndexStore
from borough.audit.keys import AuditKeys
from borough.audit.parallel import walk_in_parallel
from borough.audit.segments import TrailFile, trail_files
from borough.audit.trailwalk import TrailWalk
from borough.audit.verified import (
    Verified,
    VerifiedStore,
    anchors_digest,
    new_point,
    resume_point,
)
from borough.audit.verify import (
    Verdict,
    check_anchors,
    check_head,
    check_public_key,
    shared_lock,
)
from borough.audit.walk import Problem, Row, Stop, WalkResult

REINDEX = "Run `borough audit reindex` to rebuild it from the trail"


class IndexCheck:
    """Holds the index's rows for a trail against the records walked, in seq order; the first
    disagreement is kept (reported only if the chain itself is intact)."""

    def __init__(self, rows: Iterator[IndexRow]) -> None:
        self._rows = rows
        self._next = next(rows, None)
        self.problem: Problem | None = None
        self.checked = 0

    def see(self, row: Row, segment: int, name: str | None) -> None:
        if self.problem is not None:
            return
        want = self._next
        if want is not None and want.seq < row.seq:
            self._extra(want)
            return
        if want is None or want.seq != row.seq:
            self.problem = Problem(
                "index",
                row.seq,
                row.line,
                f"record {row.seq} is in the trail but not in the audit index: subject access "
                f"requests, exports and the dashboard would miss it. {REINDEX}",
                name,
            )
            return
        if (want.hash, want.segment, want.offset, want.length) != (
            row.hash,
            segment,
            row.offset,
            row.length,
        ):
            self.problem = Problem(
                "index",
                row.seq,
                row.line,
                f"the audit index's entry for record {row.seq} does not match the trail (another "
                f"record, or another place in the files). {REINDEX}",
                name,
            )
            return
        self.checked += 1
        self._next = next(self._rows, None)

    def finish(self) -> None:
        if self.problem is None and self._next is not None:
            self._extra(self._next)

    def _extra(self, row: IndexRow) -> None:
        self.problem = Problem(
            "index",
            row.seq,
            None,
            f"the audit index lists record {row.seq}, which the trail does not hold (a record "
            f"was removed from the files, or the index belongs to another trail). {REINDEX}",
        )


@dataclass
class TrailCheck:
    """What verifying one trail needs; ``keys`` are the trail's writer's (a public key alone
    for other machines' trails), ``signer`` the verifier's own (to sign the point kept)."""

    folder: Path
    trail: str
    keys: AuditKeys
    anchors: Sequence[Anchor] = ()
    external: Sequence[Anchor] = ()
    index: IndexStore | None = None
    states: VerifiedStore | None = None
    signer: AuditKeys | None = None
    verifier: str = ""
    full: bool = False
    parallel: bool = True
    notes: list[str] = field(default_factory=list)


def verify_trail(check: TrailCheck) -> Verdict:
    """The verdict on one trail (see the module docstring)."""
    return _Run(check).verdict()


class _Run:
    """One verification of one trail."""

    def __init__(self, check: TrailCheck) -> None:
        self.check = check
        self.index = _caught_up(check)
        self.state = None if check.full else _load_state(check)
        state = self.state
        if state is not None and (
            anchors_digest(check.anchors, state.seq) != state.anchors_sha256
            or any(a.seq <= state.seq for a in check.external)
        ):
            check.notes.append(
                "anchors for records verified before were changed or given: every record was "
                "walked again"
            )
            self.state = None
        self.files: list[TrailFile] = []
        self.head: SignedHead | HeadUnreadable | None = None
        self.walk: TrailWalk | None = None
        self.seen: IndexCheck | None = None
        self.anchors_ok: set[Anchor] = set()  #: ledger anchors whose signature a chunk checked

    def verdict(self) -> Verdict:
        check = self.check
        verdict = Verdict(ok=False, macs_checked=check.keys.mac_key is not None, trail=check.trail)
        verdict.warnings += check.notes
        try:
            with shared_lock(check.folder / LOG_NAME, True):
                outcome = self._walk(verdict)
            self._conclude(verdict, outcome)
            check_public_key(check.folder / PUBLIC_KEY_NAME, check.keys)
        except Stop as stop:
            if self.state is not None:  # something changed since the point: judge from the start
                return verify_trail(_full(check))
            verdict.problem = stop.problem
            return verdict
        if self.seen is not None and self.seen.problem is not None:
            verdict.problem = self.seen.problem
            return verdict
        verdict.ok = True
        self._remember(verdict, outcome)
        return verdict

    def _walk(self, verdict: Verdict) -> WalkResult:
        check, index = self.check, self.index
        self.head = _read_head(check.folder / HEAD_NAME)
        self.files = trail_files(check.folder)
        start = resume_point(self.state, self.files) if self.state is not None else None
        if self.state is not None and start is None:
            verdict.warnings.append(
                f"the point verified last time (record {self.state.seq}) could not be confirmed "
                "as it was, so every record was walked"
            )
            self.state = None
        after = self.state.seq if self.state else 0
        if index is not None:
            self.seen = IndexCheck(index.of_trail(check.trail, after_seq=after))
        head = self.head
        self.walk = walk = TrailWalk(
            self.files,
            check.keys,
            head_seq=head.seq if isinstance(head, SignedHead) else 0,
            start=start,
            on_row=self.seen.see if self.seen else None,
        )
        wanted = {a.seq for a in [*check.anchors, *check.external]}
        if isinstance(head, SignedHead):
            wanted.add(head.seq)
        if check.parallel and start is None:
            rows = index.chain_rows(check.trail) if index is not None else None
            joined = walk_in_parallel(walk, wanted, rows, check.anchors)
            if joined is not None:
                self.seen = None  # the chunks' digests matched the index
                walk.closings.update(joined.closings)
                self.anchors_ok = joined.anchors_ok
                return joined.result
        outcome = walk.run(wanted=wanted)
        if self.seen is not None:
            self.seen.finish()
        return outcome

    def _conclude(self, verdict: Verdict, outcome: WalkResult) -> None:
        check, state = self.check, self.state
        names = [f.name if f.closed else None for f in self.files]
        since = state.seq if state else 0
        verdict.checked = outcome.records
        verdict.records = outcome.records + (state.records if state else 0)
        first = outcome.first.seq if outcome.first else None
        verdict.first_seq = state.first_seq if state else first
        verdict.last_seq = outcome.last.seq if outcome.last else None
        verdict.signed_through = outcome.signed_through
        verdict.checkpoints = outcome.checkpoints + (state.checkpoints if state else 0)
        verdict.segments = sum(1 for f in self.files if f.closed)
        check_head(self.head, outcome, check.keys, verdict, names)
        for source, anchors in (("ledger", check.anchors), ("external", check.external)):
            verdict.anchors += check_anchors(
                outcome,
                anchors,
                check.keys,
                source=source,
                names=names,
                since=since,
                signed=self.anchors_ok if source == "ledger" else (),
            )
        if state is not None:
            verdict.warnings.append(
                f"{outcome.records} record(s) after record {state.seq} walked; records "
                f"{state.first_seq}-{state.seq} were proven on {state.verified_at[:19]}Z and "
                "still hold (`borough audit verify --full` walks every record)"
            )

    def _remember(self, verdict: Verdict, outcome: WalkResult) -> None:
        check, head, state = self.check, self.head, self.state
        if check.states is None or check.signer is None or not check.signer.can_sign:
            return
        candidates = [outcome.last_signed]
        if isinstance(head, SignedHead):
            candidates.append(outcome.found.get(head.seq))
        point = max((c for c in candidates if c is not None), key=lambda c: c.seq, default=None)
        if point is None or (state is not None and point.seq <= state.seq) or not point.length:
            return
        assert self.walk is not None
        try:
            remembered = new_point(
                check.trail,
                point,
                self.files,
                closings=self.walk.closings,
                before=state,
                totals=(
                    verdict.first_seq or 1,
                    verdict.records - _after(outcome, point),
                    verdict.checkpoints,
                    verdict.signed_through,
                ),
                now=records.utc_now(),
                anchors=check.anchors,
            ).signed(check.signer)
            check.states.put(check.trail, check.verifier, remembered.to_json())
        except Exception as exc:  # remembering is an optimisation: say so, never fail for it
            logger.bind(action="audit.verify_state").warning(
                "could not remember the verified point: {}", exc
            )


def _full(check: TrailCheck) -> TrailCheck:
    return TrailCheck(**{**check.__dict__, "full": True, "notes": []})


def _caught_up(check: TrailCheck) -> IndexStore | None:
    if check.index is None:
        return None
    try:
        catch_up(check.index, check.trail, check.folder)
    except Exception as exc:  # the index is derived: verify the chain without it
        check.notes.append(f"the audit index was not checked: {exc}")
        logger.bind(action="audit.index_failed").warning("audit index not checked: {}", exc)
        return None
    return check.index


def _load_state(check: TrailCheck) -> Verified | None:
    if check.states is None or check.signer is None:
        return None
    try:
        text = check.states.get(check.trail, check.verifier)
    except Exception:
        return None
    state = Verified.from_json(text) if text else None
    if state is None or state.trail != check.trail or not state.signature_ok(check.signer):
        return None
    return state


def _read_head(path: Path) -> SignedHead | HeadUnreadable | None:
    try:
        return read_head(path)
    except HeadUnreadable as exc:
        return exc


def _after(outcome: WalkResult, point: Row) -> int:
    """How many walked records come after ``point`` (they are walked again next time)."""
    last = outcome.last.seq if outcome.last else point.seq
    return max(0, last - point.seq)
