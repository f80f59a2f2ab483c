"""``borough audit verify``: walk the chain and name the first record that is not as written.

With the installation's key (the default) every record's MAC is checked, so a forged
record is named wherever it is; with the public key alone, records after the last signed
point cannot be proven and are reported as such. Beyond the walk, the end of the trail is
held against its signed head, the ledger's signed anchors, anchors kept elsewhere
(``--anchor``/``--anchors``) and the ledger's record of where each run ended.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from borough.audit.anchors import Anchor
from borough.audit.files import HEAD_NAME, LOG_NAME, PUBLIC_KEY_NAME
from borough.audit.head import HeadUnreadable, SignedHead, read_head
from borough.audit.keys import AuditKeys
from borough.audit.walk import Problem, ProblemKind, Row, Stop, parse_trail, walk

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
    """Verify ``folder/audit.jsonl`` with ``keys``, its signed head and the given anchors.

    ``anchors`` come from the ledger (signed; a bad signature is a problem), ``external``
    from an auditor (``SEQ:HASH`` or signed lines); both must agree with the trail.
    ``require_head=False`` and ``allow_torn=True`` serve ``audit repair``, which mends those
    (holding the writer's lock already: ``take_lock=False``).
    """
    if not isinstance(keys, AuditKeys):
        keys = AuditKeys.public_only(keys)
    verdict = Verdict(ok=False, macs_checked=keys.mac_key is not None)
    try:
        with _shared_lock(folder / LOG_NAME, take_lock):  # writers append under a lock
            parsed = parse_trail(folder / LOG_NAME, keys)
            head = _read_head(folder / HEAD_NAME)
        rows = parsed.rows
        outcome = walk(rows)
        if parsed.problem is not None and not (allow_torn and parsed.problem.kind == "torn"):
            raise Stop(parsed.problem)
        verdict.records = len(rows)
        verdict.first_seq = rows[0].seq if rows else None
        verdict.last_seq = rows[-1].seq if rows else None
        verdict.signed_through = outcome.signed_through
        verdict.checkpoints = outcome.checkpoints
        _check_head(head if require_head else _NO_HEAD, rows, keys, verdict)
        _check_public_key(folder / PUBLIC_KEY_NAME, keys)
        verdict.anchors = _check_anchors(rows, anchors, keys, source="ledger")
        verdict.anchors += _check_anchors(rows, external, keys, source="external")
    except Stop as stop:
        verdict.problem = stop.problem
        return verdict
    verdict.ok = True
    return verdict


@contextmanager
def _shared_lock(log: Path, take: bool) -> Iterator[None]:
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


def _check_head(
    head: SignedHead | HeadUnreadable | None,
    rows: list[Row],
    keys: AuditKeys,
    verdict: Verdict,
) -> None:
    if head is None:
        if rows:
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
    last = rows[-1].seq if rows else 0
    if head is _NO_HEAD:
        _check_unsigned(max(0, verdict.signed_through or 0), last, rows, keys, verdict)
        return
    if isinstance(head, HeadUnreadable) or not head.signature_ok(keys):
        raise Stop(
            Problem("bad-signature", None, None, f"{HEAD_NAME} does not carry a valid signature")
        )
    if head.seq > last:
        raise Stop(_cut_off(rows, head.seq, "its signed head", ""))
    match = next((row for row in reversed(rows) if row.seq == head.seq), None)
    if match is not None and match.hash != head.hash:
        raise Stop(
            Problem(
                "modified",
                head.seq,
                match.line,
                f"record {head.seq} differs from the one the signed head recorded: the "
                "chain was rewritten",
            )
        )
    _check_unsigned(max(head.seq, verdict.signed_through or 0), last, rows, keys, verdict)


def _check_unsigned(
    signed: int, last: int, rows: list[Row], keys: AuditKeys, verdict: Verdict
) -> None:
    """Records after the last signed point: proven by MACs with the key, unproven without."""
    if signed >= last:
        return
    after = next((row for row in rows if row.seq > signed), rows[-1])
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
        )
    )


def _check_public_key(path: Path, keys: AuditKeys) -> None:
    try:
        kept = path.read_bytes()
    except FileNotFoundError:
        return
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


def _check_anchors(
    rows: list[Row], anchors: Iterable[Anchor], keys: AuditKeys, *, source: str
) -> int:
    """Hold the trail against each anchor; returns how many were checked."""
    anchors = sorted(anchors, key=lambda a: a.seq)
    if not anchors:
        return 0
    first = rows[0].seq if rows else 1
    last = rows[-1].seq if rows else 0
    by_seq = {row.seq: row for row in rows if row.seq in {a.seq for a in anchors}}
    label = "the ledger's signed anchor" if source == "ledger" else "an anchor kept elsewhere"
    for anchor in anchors:
        if (source == "ledger" or anchor.signature) and not anchor.signature_ok(keys):
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
            continue  # purged by retention; the signed purge record accounts for it
        if anchor.seq > last:
            raise Stop(_cut_off(rows, anchor.seq, label, " or the trail was rolled back"))
        row = by_seq.get(anchor.seq)
        if row is None or row.hash != anchor.hash:
            raise Stop(
                Problem(
                    "modified",
                    anchor.seq,
                    row.line if row else None,
                    f"record {anchor.seq} is not the one {label} recorded: the trail was "
                    "replaced or rewritten",
                )
            )
    return len(anchors)


def _cut_off(rows: list[Row], written: int, source: str, more: str) -> Problem:
    last = rows[-1].seq if rows else 0
    return Problem(
        "truncated",
        last + 1,
        (rows[-1].line + 1) if rows else 1,
        f"the trail ends at record {last} but {source} says record {written} was written: "
        f"records {last + 1}-{written} were cut off{more}",
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
