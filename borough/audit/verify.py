"""``borough audit verify``: walk the chain and name the first record that is not as written."""

from __future__ import annotations

import base64
import fcntl
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from borough.audit import records
from borough.audit.chain import HEAD_NAME, LOG_NAME

ProblemKind = Literal[
    "malformed",
    "unknown-schema",
    "modified",
    "missing",
    "inserted",
    "reordered",
    "truncated",
    "bad-signature",
]


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with the trail: what, at which record (seq) and file line."""

    kind: ProblemKind
    seq: int | None
    line: int | None
    message: str


@dataclass
class Verdict:
    ok: bool
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    signed_through: int | None = None
    checkpoints: int = 0
    problem: Problem | None = None
    warnings: list[str] = field(default_factory=list)


class _Stop(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def verify_file(folder: Path, public_key: Ed25519PublicKey) -> Verdict:
    """Verify ``folder/audit.jsonl`` against ``public_key`` and the signed head file."""
    log = folder / LOG_NAME
    verdict = Verdict(ok=False)
    try:
        with _shared_lock(log):  # writers append whole records under an exclusive lock
            rows = _parse(log)
            head_text = _read(folder / HEAD_NAME)
        _walk(rows, public_key, verdict)
        _check_head(folder / HEAD_NAME, head_text, rows, public_key, verdict)
    except _Stop as stop:
        verdict.problem = stop.problem
        return verdict
    unsigned = (verdict.last_seq or 0) - (verdict.signed_through or 0)
    if verdict.records and unsigned > 0:
        verdict.warnings.append(
            f"{unsigned} record(s) after the last signed checkpoint (seq "
            f"{verdict.signed_through or 'none'}) are covered by the signed head only"
        )
    verdict.ok = True
    return verdict


@contextmanager
def _shared_lock(log: Path) -> Iterator[None]:
    if not log.exists():
        yield
        return
    with log.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _parse(log: Path) -> list[tuple[int, dict[str, Any]]]:
    rows: list[tuple[int, dict[str, Any]]] = []
    if not log.exists():
        return rows
    with log.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
                if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
                    raise ValueError("not an audit record")
            except ValueError as exc:
                guess = rows[-1][1]["seq"] + 1 if rows else None
                raise _Stop(
                    Problem("malformed", guess, number, f"line {number} is not a record ({exc})")
                ) from None
            if record.get("schema") != records.SCHEMA:
                raise _Stop(
                    Problem(
                        "unknown-schema",
                        record["seq"],
                        number,
                        f"record has schema {record.get('schema')!r}; this borough reads "
                        f"{records.SCHEMA!r} only",
                    )
                )
            rows.append((number, record))
    return rows


def _walk(rows: list[tuple[int, dict[str, Any]]], key: Ed25519PublicKey, verdict: Verdict) -> None:
    if not rows:
        return
    counts = Counter(record["seq"] for _, record in rows)
    first_line, first = rows[0]
    _check_start(rows, key)
    expected = first["seq"]
    prev_hash = first["prev_hash"]
    prev_line = first_line
    for line, record in rows:
        seq = record["seq"]
        if seq != expected:
            raise _Stop(_out_of_sequence(seq, expected, line, counts, rows))
        if records.record_hash(record) != record.get("hash"):
            raise _Stop(
                Problem(
                    "modified",
                    seq,
                    line,
                    f"record {seq} (line {line}) was changed after it was written: its content "
                    "no longer matches its hash",
                )
            )
        if record.get("prev_hash") != prev_hash:
            raise _Stop(
                Problem(
                    "modified",
                    seq - 1,
                    prev_line,
                    f"record {seq - 1} (line {prev_line}) was rewritten: record {seq} still "
                    "links to its original hash",
                )
            )
        if record.get("action") in records.SIGNED_ACTIONS:
            if not _signature_ok(record, key):
                since = verdict.signed_through or 0
                raise _Stop(
                    Problem(
                        "bad-signature",
                        seq,
                        line,
                        f"{record.get('action')} record {seq} (line {line}) does not carry a "
                        "valid signature: it was forged, or records "
                        f"{since + 1}-{seq - 1} were rewritten and re-hashed",
                    )
                )
            verdict.checkpoints += 1
            verdict.signed_through = seq
        prev_hash = record["hash"]
        prev_line = line
        expected += 1
    verdict.records = len(rows)
    verdict.first_seq = first["seq"]
    verdict.last_seq = rows[-1][1]["seq"]


def _check_start(rows: list[tuple[int, dict[str, Any]]], key: Ed25519PublicKey) -> None:
    line, first = rows[0]
    if first["seq"] == 1:
        if first.get("prev_hash") != records.GENESIS_HASH:
            raise _Stop(
                Problem(
                    "modified",
                    1,
                    line,
                    "record 1 does not start the chain (its previous hash is not the genesis hash)",
                )
            )
        return
    for _, record in rows:
        detail = record.get("detail") or {}
        if (
            record.get("action") == records.PURGE
            and detail.get("purged_through_seq") == first["seq"] - 1
            and detail.get("purged_through_hash") == first.get("prev_hash")
            and _signature_ok(record, key)
        ):
            return
    raise _Stop(
        Problem(
            "missing",
            1,
            line,
            f"records 1-{first['seq'] - 1} are missing from the start of the trail and no signed "
            "purge record accounts for them",
        )
    )


def _out_of_sequence(
    seq: int,
    expected: int,
    line: int,
    counts: Counter[int],
    rows: list[tuple[int, dict[str, Any]]],
) -> Problem:
    if seq > expected:
        later = next((ln for ln, r in rows if r["seq"] == expected and ln > line), None)
        if later is not None:
            return Problem(
                "reordered",
                expected,
                later,
                f"record {expected} was moved: it is at line {later}, after record {seq} "
                f"(line {line})",
            )
        missing = f"{expected}" if seq == expected + 1 else f"{expected}-{seq - 1}"
        return Problem(
            "missing",
            expected,
            line,
            f"record(s) {missing} were deleted: line {line} holds record {seq}",
        )
    if counts[seq] > 1:
        return Problem(
            "inserted",
            expected,
            line,
            f"an extra record was inserted at line {line}: it repeats sequence number {seq} "
            f"where record {expected} belongs",
        )
    return Problem(
        "reordered",
        seq,
        line,
        f"record {seq} was moved: it is at line {line}, after record {expected - 1}",
    )


def _check_head(
    path: Path,
    text: str | None,
    rows: list[tuple[int, dict[str, Any]]],
    key: Ed25519PublicKey,
    verdict: Verdict,
) -> None:
    if text is None:
        if rows:
            raise _Stop(
                Problem(
                    "truncated",
                    None,
                    None,
                    f"{path.name} (the signed record of the last write) is missing, so the end "
                    "of the trail cannot be proven: records may have been cut off",
                )
            )
        return
    try:
        head = json.loads(text)
        body = {k: head[k] for k in ("seq", "hash", "ts")}
        signature = base64.b64decode(head["signature"])
        key.verify(signature, records.canonical_json(body).encode("utf-8"))
    except (ValueError, KeyError, TypeError, InvalidSignature):
        raise _Stop(
            Problem("bad-signature", None, None, f"{path.name} does not carry a valid signature")
        ) from None
    last = verdict.last_seq or 0
    if head["seq"] > last:
        line = (rows[-1][0] + 1) if rows else 1
        raise _Stop(
            Problem(
                "truncated",
                last + 1,
                line,
                f"the trail ends at record {last} but its signed head says record "
                f"{head['seq']} was written: records {last + 1}-{head['seq']} were cut off",
            )
        )
    match = next((r for _, r in rows if r["seq"] == head["seq"]), None)
    if match is not None and match.get("hash") != head["hash"]:
        raise _Stop(
            Problem(
                "modified",
                head["seq"],
                None,
                f"record {head['seq']} differs from the one the signed head recorded: the "
                "chain was rewritten",
            )
        )


def _signature_ok(record: dict[str, Any], key: Ed25519PublicKey) -> bool:
    try:
        key.verify(base64.b64decode(record.get("signature") or ""), records.signed_payload(record))
    except (InvalidSignature, ValueError):
        return False
    return True


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
