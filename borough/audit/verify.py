"""``borough audit verify``: walk the chain and name the first record that is not as written.

With the installation's key (the default) every record's MAC is checked, so a forged
record is named wherever it is; with the public key alone, records after the last signed
point cannot be proven and are reported as such. Beyond the walk, the end of the trail is
held against its signed head, the ledger's signed anchors, anchors kept elsewhere
(``--anchor``/``--anchors``) and the ledger's record of where each run ended.

The walk streams every segment file in order (:mod:`borough.audit.walk`), so memory stays
flat; :mod:`borough.audit.parallel` splits a long trail across both cores and comes back
here for the exact verdict when something is wrong.
"""

from __future__ import annotations

import fcntl
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from borough.audit.anchors import Anchor
from borough.audit.files import HEAD_NAME, LOG_NAME, PUBLIC_KEY_NAME
from borough.audit.head import HeadUnreadable, SignedHead, read_head
from borough.audit.keys import AuditKeys
from borough.audit.segments import TrailFile, trail_files
from borough.audit.trailwalk import TrailWalk
from borough.audit.walk import Problem, ProblemKind, Row, Stop, WalkResult

__all__ = ["Problem", "ProblemKind", "Verdict", "check_run_ends", "verify_file"]


@dataclass
class Verdict:
    ok: bool
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    signed_through: int | None = None
    checkpoints: int = 0
    anchors: int = 0  #: anchors (ledger and external) the trail was held against
    macs_checked: bool = False
    problem: Problem | None = None
    warnings: list[str] = field(default_factory=list)
    segments: int = 0  #: closed segment files walked
    checked: int = 0  #: records walked by this verification (all of them unless incremental)
    trail: str | None = None  #: the writer (host) whose trail this is, when known
    registered_key: bool = False  #: proven with the key registered in the ledger, no unlock
    details: list[str] = field(default_factory=list)  #: shown with ``--verbose`` only


def as_keys(keys: AuditKeys | Ed25519PublicKey) -> AuditKeys:
    return keys if isinstance(keys, AuditKeys) else AuditKeys.public_only(keys)


def verify_file(
    folder: Path,
    keys: AuditKeys | Ed25519PublicKey,
    *,
    anchors: Sequence[Anchor] = (),
    external: Sequence[Anchor] = (),
    require_head: bool = True,
    allow_torn: bool = False,
    take_lock: bool = True,
) -> Verdict:
    """Verify the trail in ``folder`` with ``keys``, its signed head and the given anchors.

    ``anchors`` come from the ledger (signed; a bad signature is a problem), ``external``
    from an auditor (``SEQ:HASH`` or signed lines); both must agree with the trail.
    ``require_head=False`` and ``allow_torn=True`` serve ``audit repair``, which mends those
    (holding the writer's lock already: ``take_lock=False``).
    """
    keys = as_keys(keys)
    verdict = Verdict(ok=False, macs_checked=keys.mac_key is not None)
    try:
        with shared_lock(folder / LOG_NAME, take_lock):  # writers append under a lock
            head = _read_head(folder / HEAD_NAME) if require_head else _NO_HEAD
            files = trail_files(folder)
            walk = TrailWalk(files, keys, head_seq=_head_seq(head), allow_torn=allow_torn)
            outcome = walk.run(wanted=_wanted(head, anchors, external))
        conclude(
            verdict,
            outcome,
            files=walk.files,
            head=head,
            keys=keys,
            anchors=anchors,
            external=external,
        )
        check_public_key(folder / PUBLIC_KEY_NAME, keys)
    except Stop as stop:
        verdict.problem = stop.problem
        return verdict
    verdict.ok = True
    return verdict


def conclude(
    verdict: Verdict,
    outcome: WalkResult,
    *,
    files: list[TrailFile],
    head: SignedHead | HeadUnreadable | None,
    keys: AuditKeys,
    anchors: Sequence[Anchor],
    external: Sequence[Anchor],
) -> None:
    """Fill ``verdict`` from a finished walk and hold its end against head and anchors."""
    verdict.records = outcome.records
    verdict.checked = outcome.records
    verdict.first_seq = outcome.first.seq if outcome.first else None
    verdict.last_seq = outcome.last.seq if outcome.last else None
    verdict.signed_through = outcome.signed_through
    verdict.checkpoints = outcome.checkpoints
    verdict.segments = sum(1 for f in files if f.closed)
    names = _namer(files)
    check_head(head, outcome, keys, verdict, names)
    verdict.anchors = check_anchors(outcome, anchors, keys, source="ledger", names=names)
    verdict.anchors += check_anchors(outcome, external, keys, source="external", names=names)


@contextmanager
def shared_lock(log: Path, take: bool) -> Iterator[None]:
    if not take:
        yield
        return
    try:
        handle = log.open("rb")
    except FileNotFoundError:
        yield
        return
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


_NO_HEAD = SignedHead(0, "", "", "")  # stands for "ignore the head file"


def _read_head(path: Path) -> SignedHead | HeadUnreadable | None:
    try:
        return read_head(path)
    except HeadUnreadable as exc:
        return exc


def _head_seq(head: SignedHead | HeadUnreadable | None) -> int:
    return head.seq if isinstance(head, SignedHead) else 0


def _wanted(head: SignedHead | HeadUnreadable | None, *sources: Sequence[Anchor]) -> set[int]:
    wanted = {a.seq for source in sources for a in source}
    if isinstance(head, SignedHead) and head is not _NO_HEAD:
        wanted.add(head.seq)
    return wanted


def _namer(files: list[TrailFile]) -> list[str | None]:
    return [f.name if f.closed else None for f in files]


def _name(names: list[str | None], row: Row | None) -> str | None:
    return names[row.file] if row is not None and row.file < len(names) else None


def check_head(
    head: SignedHead | HeadUnreadable | None,
    outcome: WalkResult,
    keys: AuditKeys,
    verdict: Verdict,
    names: list[str | None],
) -> None:
    last = outcome.last.seq if outcome.last else 0
    if head is None:
        if outcome.last is not None:
            raise Stop(
                Problem(
                    "truncated",
                    None,
                    None,
                    f"{HEAD_NAME} (the signed record of the last write) is missing, so the end "
                    "of the trail cannot be proven: records may have been cut off",
                )
            )
        return
    if head is _NO_HEAD:
        check_unsigned(
            max(0, verdict.signed_through or 0),
            last,
            outcome,
            keys=keys,
            verdict=verdict,
            names=names,
        )
        return
    if isinstance(head, HeadUnreadable) or not head.signature_ok(keys):
        raise Stop(
            Problem("bad-signature", None, None, f"{HEAD_NAME} does not carry a valid signature")
        )
    if head.seq > last:
        raise Stop(cut_off(outcome, head.seq, "its signed head", "", names))
    match = outcome.found.get(head.seq)
    if match is not None and match.hash != head.hash:
        raise Stop(
            Problem(
                "modified",
                head.seq,
                match.line,
                f"record {head.seq} differs from the one the signed head recorded: the "
                "chain was rewritten",
                _name(names, match),
            )
        )
    signed = max(head.seq, verdict.signed_through or 0)
    check_unsigned(signed, last, outcome, keys=keys, verdict=verdict, names=names)


def check_unsigned(
    signed: int,
    last: int,
    outcome: WalkResult,
    *,
    keys: AuditKeys,
    verdict: Verdict,
    names: list[str | None],
) -> None:
    """Records after the last signed point: proven by MACs with the key, unproven without."""
    if signed >= last:
        return
    after = outcome.unsigned or outcome.last
    assert after is not None
    span = f"record {last}" if after.seq == last else f"records {after.seq}-{last}"
    if keys.mac_key is not None and after.mac_ok is not None:
        verdict.warnings.append(
            f"{span} came after the last signed point (record {signed}): a writer stopped "
            "before re-signing the head. Their MACs prove them; the next write signs them"
        )
        return
    why = (
        "cannot be proven with the public key alone and may have been forged; verify with "
        "the installation's key (`borough audit verify` without --public-key), which checks "
        "each record's MAC"
        if keys.mac_key is None
        else f"are in the old format {after.schema}, which carries no MAC: they cannot be "
        "proven and may have been forged"
    )
    raise Stop(
        Problem(
            "unproven",
            after.seq,
            after.line,
            f"{span} after the last signed point (record {signed}) {why}",
            _name(names, after),
        )
    )


def check_public_key(path: Path, keys: AuditKeys) -> None:
    try:
        kept = path.read_bytes()
    except OSError:
        return
    if kept.strip() != keys.public_pem().strip():
        raise Stop(
            Problem(
                "bad-signature",
                None,
                None,
                f"{PUBLIC_KEY_NAME} beside the trail is not the public key this verification "
                "used: it was replaced (never verify with the copy kept beside the trail; use "
                "the one you exported)",
            )
        )


def check_anchors(
    outcome: WalkResult,
    anchors: Iterable[Anchor],
    keys: AuditKeys,
    *,
    source: str,
    names: list[str | None],
    since: int = 0,
    signed: Collection[Anchor] = (),
) -> int:
    """Hold the trail against each anchor (of records after ``since``); returns how many.
    ``signed``: anchors whose signature was already checked (by a parallel walk's chunks)."""
    anchors = sorted((a for a in anchors if a.seq > since), key=lambda a: a.seq)
    if not anchors:
        return 0
    first = outcome.first.seq if outcome.first else 1
    last = outcome.last.seq if outcome.last else since
    label = "the ledger's signed anchor" if source == "ledger" else "an anchor kept elsewhere"
    for anchor in anchors:
        needs_signature = source == "ledger" or anchor.signature
        if needs_signature and anchor not in signed and not anchor.signature_ok(keys):
            raise Stop(
                Problem(
                    "bad-signature",
                    anchor.seq,
                    None,
                    f"{label} for record {anchor.seq} does not carry a valid signature: "
                    + (
                        "the ledger's anchors were altered"
                        if source == "ledger"
                        else "it was not signed by this installation's key"
                    ),
                )
            )
        if anchor.seq < first:
            continue  # purged by retention (a signed purge accounts for it)
        if anchor.seq > last:
            raise Stop(cut_off(outcome, anchor.seq, label, " or the trail was rolled back", names))
        row = outcome.found.get(anchor.seq)
        if row is None or row.hash != anchor.hash:
            raise Stop(
                Problem(
                    "modified",
                    anchor.seq,
                    row.line if row else None,
                    f"record {anchor.seq} is not the one {label} recorded: the trail was "
                    "replaced or rewritten",
                    _name(names, row),
                )
            )
    return len(anchors)


def cut_off(
    outcome: WalkResult, written: int, source: str, more: str, names: list[str | None]
) -> Problem:
    last_row = outcome.last
    last = last_row.seq if last_row else 0
    return Problem(
        "truncated",
        last + 1,
        (last_row.line + 1) if last_row else 1,
        f"the trail ends at record {last} but {source} says record {written} was written: "
        f"records {last + 1}-{written} were cut off{more}",
        _name(names, last_row),
    )


def check_run_ends(verdict: Verdict, run_ends: Iterable[tuple[str, int]]) -> Verdict:
    """Hold an intact verdict against the ledger: a run that ended at record N means the
    trail reached N, so a shorter trail was cut (even if its head file was rewritten too)."""
    if not verdict.ok:
        return verdict
    ends = list(run_ends)
    latest = max((seq for _, seq in ends), default=0)
    last = verdict.last_seq or 0
    if latest > last:
        run = next(run_id for run_id, seq in ends if seq == latest)
        verdict.ok = False
        verdict.problem = Problem(
            "truncated",
            last + 1,
            None,
            f"the ledger says run {run} ended at audit record {latest}, "
            f"but the trail ends at {last}",
        )
    return verdict


def first_problem_text(problem: Problem) -> str:
    """``record N, line L of FILE`` as the CLI and the dashboard print it."""
    where = f"record {problem.seq}" if problem.seq is not None else "trail"
    line = f", line {problem.line}" if problem.line else ""
    of = f" of {problem.segment}" if problem.segment else ""
    return f"{where}{line}{of}"
