"""Tamper cases against ``audit verify``: each is caught, at the right record, for the right reason.

Expected verdicts are golden files in tests/golden/audit/ (regenerate with
``UPDATE_GOLDEN=1 pytest tests/unit/borough/test_audit_verify.py`` and review the diff).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from borough.audit import records
from borough.audit.chain import ChainSink, purge_before
from borough.audit.verify import Verdict, check_run_ends, verify_file

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "audit"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
RECORDS = 11  # checkpoints land at seq 5 and 10 (every 5): 13 lines in all


def build_chain(folder: Path) -> None:
    sink = ChainSink(folder, KEY, checkpoint_every=5)
    for i in range(RECORDS):
        sink.append(
            {
                "ts": f"2026-11-{1 + i:02d}T09:00:00.000000Z",
                "host": "runner-1",
                "run_id": "20261101-090000-abcdef",
                "bot": "demo",
                "bot_version": "1.0.0",
                "item": f"p_{'a' * 19}{i % 10}",
                "attempt": 1,
                "step": "submit",
                "action": "item.done",
                "target": "casework",
                "actor": "bot:demo",
                "outcome": "done",
            }
        )
    sink.close()


def lines(folder: Path) -> list[str]:
    return (folder / "audit.jsonl").read_text("utf-8").splitlines(keepends=True)


def write(folder: Path, new_lines: list[str]) -> None:
    (folder / "audit.jsonl").write_text("".join(new_lines), "utf-8")


def rehash_from(rows: list[dict], start: int) -> list[str]:
    """What a careful attacker does: recompute every hash from ``start`` onwards."""
    for index in range(start, len(rows)):
        if index > 0:
            rows[index]["prev_hash"] = rows[index - 1]["hash"]
        rows[index]["hash"] = records.record_hash(rows[index])
    return [records.canonical_json(row) + "\n" for row in rows]


def parsed(folder: Path) -> list[dict]:
    return [json.loads(line) for line in lines(folder)]


def edit(folder: Path) -> None:
    rows = lines(folder)
    rows[6] = rows[6].replace('"outcome":"done"', '"outcome":"failed"')
    write(folder, rows)


def edit_and_rehash_one(folder: Path) -> None:
    rows = parsed(folder)
    rows[6]["outcome"] = "failed"
    rows[6]["hash"] = records.record_hash(rows[6])
    write(folder, [records.canonical_json(r) + "\n" for r in rows])


def rewrite_chain(folder: Path) -> None:
    rows = parsed(folder)
    rows[6]["outcome"] = "failed"
    write(folder, rehash_from(rows, 6))


def delete(folder: Path) -> None:
    rows = lines(folder)
    del rows[6]
    write(folder, rows)


def insert(folder: Path) -> None:
    rows = lines(folder)
    rows.insert(7, rows[6].replace('"outcome":"done"', '"outcome":"skipped"'))
    write(folder, rows)


def reorder(folder: Path) -> None:
    rows = lines(folder)
    rows[6], rows[7] = rows[7], rows[6]
    write(folder, rows)


def truncate(folder: Path) -> None:
    write(folder, lines(folder)[:-2])


def forge_checkpoint(folder: Path) -> None:
    rows = parsed(folder)
    checkpoint = rows[9]
    assert checkpoint["action"] == records.CHECKPOINT and checkpoint["seq"] == 10
    rows[6]["outcome"] = "failed"
    rows = [json.loads(line) for line in rehash_from(rows, 6)]
    import base64

    forged = OTHER_KEY.sign(records.signed_payload(rows[9]))
    rows[9]["signature"] = base64.b64encode(forged).decode()
    write(folder, rehash_from(rows, 9))


def forge_head(folder: Path) -> None:
    head = json.loads((folder / "audit.head").read_text())
    head["seq"] = head["seq"] + 5
    (folder / "audit.head").write_text(json.dumps(head))


def delete_head(folder: Path) -> None:
    (folder / "audit.head").unlink()


def delete_start(folder: Path) -> None:
    write(folder, lines(folder)[3:])


def unknown_schema(folder: Path) -> None:
    rows = lines(folder)
    rows[2] = rows[2].replace(records.SCHEMA, "borough.audit/9")
    write(folder, rows)


def garbage_line(folder: Path) -> None:
    rows = lines(folder)
    rows[4] = rows[4][: len(rows[4]) // 2] + "\n"
    write(folder, rows)


def legitimate_purge(folder: Path) -> None:
    sink = ChainSink(folder, KEY, checkpoint_every=5)
    result = purge_before(sink, "2026-11-05T00:00:00.000000Z", {"host": "runner-1"})
    sink.close()
    assert result.purged_records == 4


CASES: dict[str, Callable[[Path], None] | None] = {
    "intact": None,
    "edited": edit,
    "edited-record-rehashed": edit_and_rehash_one,
    "chain-rewritten": rewrite_chain,
    "deleted": delete,
    "inserted": insert,
    "reordered": reorder,
    "truncated": truncate,
    "forged-checkpoint": forge_checkpoint,
    "forged-head": forge_head,
    "head-deleted": delete_head,
    "deleted-from-start": delete_start,
    "unknown-schema": unknown_schema,
    "damaged-line": garbage_line,
    "purged-by-retention": legitimate_purge,
}


def verdict_text(verdict: Verdict) -> str:
    if verdict.ok:
        return (
            f"OK records={verdict.records} seq={verdict.first_seq}-{verdict.last_seq} "
            f"signed_through={verdict.signed_through}\n"
        )
    problem = verdict.problem
    assert problem is not None
    return f"{problem.kind} seq={problem.seq} line={problem.line}: {problem.message}\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_tamper_case_verdict_matches_golden(tmp_path: Path, case: str):
    build_chain(tmp_path)
    tamper = CASES[case]
    if tamper is not None:
        tamper(tmp_path)
    got = verdict_text(verify_file(tmp_path, KEY.public_key()))
    golden = GOLDEN / f"{case}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got, "utf-8")
    assert got == golden.read_text("utf-8")


def test_every_tamper_case_fails_and_names_a_record(tmp_path: Path):
    for case, tamper in CASES.items():
        if tamper is None or case == "purged-by-retention":
            continue
        folder = tmp_path / case
        build_chain(folder)
        tamper(folder)
        verdict = verify_file(folder, KEY.public_key())
        assert not verdict.ok, case
        assert verdict.problem is not None
        if case not in ("forged-head", "head-deleted"):
            assert verdict.problem.seq is not None, case


def test_wrong_public_key_fails_on_the_first_checkpoint(tmp_path: Path):
    build_chain(tmp_path)
    verdict = verify_file(tmp_path, OTHER_KEY.public_key())
    assert verdict.problem is not None
    assert (verdict.problem.kind, verdict.problem.seq) == ("bad-signature", 5)


def test_records_after_the_last_checkpoint_are_reported(tmp_path: Path):
    build_chain(tmp_path)
    verdict = verify_file(tmp_path, KEY.public_key())
    assert verdict.ok and verdict.last_seq == 13 and verdict.signed_through == 10
    assert "3 record(s) after the last signed checkpoint" in verdict.warnings[0]


def test_two_writers_share_one_chain(tmp_path: Path):
    first = ChainSink(tmp_path, KEY, checkpoint_every=1000)
    second = ChainSink(tmp_path, KEY, checkpoint_every=1000)
    for i in range(10):
        (first if i % 2 else second).append({"action": "x", "outcome": "ok"})
    first.close()
    second.close()
    verdict = verify_file(tmp_path, KEY.public_key())
    assert verdict.ok and verdict.last_seq == 10


def test_ledger_run_end_beyond_the_trail_is_truncation(tmp_path: Path):
    build_chain(tmp_path)
    intact = verify_file(tmp_path, KEY.public_key())
    last = intact.last_seq
    assert check_run_ends(intact, [("run-a", 3), ("run-b", last)]).ok
    cut = check_run_ends(verify_file(tmp_path, KEY.public_key()), [("run-b", last + 4)])
    assert not cut.ok and cut.problem is not None
    assert (cut.problem.kind, cut.problem.seq) == ("truncated", last + 1)
    assert "run run-b ended at audit record" in cut.problem.message
