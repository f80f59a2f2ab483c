"""Verifying trails shipped as files: ``borough audit export --format jsonl`` on one machine,
``borough audit verify FILE...`` on another.

An export holds each writer's records in chain order (one writer after another). Each
writer's run of records is walked like a trail: every link, every hash, every signature
with that writer's public key (registered in the ledger, or given), and the ledger's
anchors that fall inside it. What a file alone cannot prove is said in notes: records
before its first one (the export starts later), and records after its last signed one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from borough.audit import records
from borough.audit.anchors import Anchor
from borough.audit.keys import AuditKeys
from borough.audit.verify import Verdict, check_anchors
from borough.audit.walk import Problem, Resume, Row, Stop, Walker, quick_row, strict_row

KeysFor = Callable[[str], AuditKeys | None]
AnchorsFor = Callable[[str], Sequence[Anchor]]


def verify_export(path: Path, keys_for: KeysFor, anchors_for: AnchorsFor) -> list[Verdict]:
    """One verdict per writer's run of records in ``path`` (read once, line by line)."""
    verdicts: list[Verdict] = []
    group: _Group | None = None
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            host = _host(raw)
            if group is None or host != group.trail:
                if group is not None:
                    verdicts.append(group.finish())
                group = _Group(path, host, keys_for, anchors_for)
            group.feed(number, raw)
    if group is not None:
        verdicts.append(group.finish())
    if not verdicts:
        verdict = Verdict(ok=False)
        verdict.problem = Problem("malformed", None, None, f"{path} holds no audit records")
        verdicts.append(verdict)
    return verdicts


def _host(raw: bytes) -> str:
    try:
        record = records.strict_loads(raw.decode("utf-8", "replace"))
    except records.MalformedRecord:
        return ""
    return str(record.get("host") or "") if isinstance(record, dict) else ""


class _Group:
    """One writer's run of records in the file, walked as they come."""

    def __init__(self, path: Path, trail: str, keys_for: KeysFor, anchors_for: AnchorsFor) -> None:
        self.path = path
        self.trail = trail
        self.keys = keys_for(trail)
        self.anchors = anchors_for(trail)
        self.walker: Walker | None = None
        self.verdict = Verdict(ok=False, trail=trail or None)
        if self.keys is None:
            self._stop(
                Problem(
                    "bad-signature",
                    None,
                    None,
                    f"no public key is known for the writer {trail!r} of {path.name}: give one "
                    "with --public-key, or verify where the ledger lists its writers",
                )
            )

    def _stop(self, problem: Problem) -> None:
        if self.verdict.problem is None:
            self.verdict.problem = Problem(
                problem.kind, problem.seq, problem.line, problem.message, self.path.name
            )

    def feed(self, number: int, raw: bytes) -> None:
        if self.verdict.problem is not None or self.keys is None:
            return
        try:
            if not raw.endswith(b"\n"):
                raise Stop(Problem("torn", None, number, f"{self.path.name} ends mid-record"))
            last = self.walker.result.last if self.walker else None
            row = quick_row(number, raw, self.keys) or strict_row(
                number, raw, self.keys, last.seq if last else None
            )
            if self.walker is None:
                self.walker = _walker(row, self.path, {a.seq for a in self.anchors})
            self.walker.feed(row)
        except Stop as stop:
            self._stop(stop.problem)

    def finish(self) -> Verdict:
        verdict, walker = self.verdict, self.walker
        if verdict.problem is not None or walker is None or self.keys is None:
            return verdict
        try:
            outcome = walker.finish()
            _fill(verdict, outcome.records, outcome.first, outcome.last, outcome.signed_through)
            verdict.checkpoints = outcome.checkpoints
            last = outcome.last.seq if outcome.last else 0
            inside = [a for a in self.anchors if a.seq <= last]  # the export ends where it ends
            verdict.anchors = check_anchors(
                outcome, inside, self.keys, source="ledger", names=[self.path.name]
            )
        except Stop as stop:
            self._stop(stop.problem)
            return verdict
        _notes(verdict, outcome.first, outcome.last, outcome.signed_through)
        verdict.ok = True
        return verdict


def _walker(first: Row, path: Path, wanted: set[int]) -> Walker:
    """A walk that starts at the file's first record, wherever the trail put it."""
    resume = None
    if first.seq > 1:
        resume = Resume(first.seq - 1, first.prev_hash, signed=False)
    return Walker(resume=resume, wanted=wanted, names=lambda _file: path.name)


def _fill(
    verdict: Verdict, count: int, first: Row | None, last: Row | None, signed: int | None
) -> None:
    verdict.records = verdict.checked = count
    verdict.first_seq = first.seq if first else None
    verdict.last_seq = last.seq if last else None
    verdict.signed_through = signed


def _notes(verdict: Verdict, first: Row | None, last: Row | None, signed: int | None) -> None:
    if first is not None and first.seq > 1:
        verdict.warnings.append(
            f"the file starts at record {first.seq}: records before it are not in it, so its "
            "first link is taken on trust (verify an export from record 1, or the trail itself)"
        )
    if last is not None and (signed or 0) < last.seq:
        after = (signed if signed else (first.seq - 1 if first else 0)) + 1
        verdict.warnings.append(
            f"records {after}-{last.seq} come after the last signed record in the file: the file "
            "alone cannot prove them (the next export, or the trail, will)"
        )
