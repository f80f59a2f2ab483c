"""Tamper cases against ``audit verify``: each is caught, at the right record, for the right reason.

Expected verdicts are golden files in tests/golden/audit/, one per case, holding the verdict
with the installation's key (MACs checked) and with the public key alone (regenerate with
``UPDATE_GOLDEN=1 pytest tests/unit/borough/test_audit_verify.py`` and review the diff).
The cases themselves are in tests/support/tamper.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from borough.audit.keys import AuditKeys
from borough.audit.verify import Verdict, check_run_ends, verify_file
from tests.support.segments import SEGMENT_ACCEPTED, SEGMENT_CASES, build_segmented
from tests.support.tamper import ACCEPTED, CASES, KEY, OTHER_KEY, TRAIL, Scene, build

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "audit"


def verdict_text(verdict: Verdict) -> str:
    if verdict.ok:
        return (
            f"OK records={verdict.records} seq={verdict.first_seq}-{verdict.last_seq} "
            f"signed_through={verdict.signed_through}"
        )
    problem = verdict.problem
    assert problem is not None
    where = f" of {problem.segment}" if problem.segment else ""
    return f"{problem.kind} seq={problem.seq} line={problem.line}{where}: {problem.message}"


def verdicts(scene: Scene) -> tuple[Verdict, Verdict]:
    anchors = scene.anchors.since_restart(TRAIL)
    ends = [(run, seq) for run, seq in scene.run_ends if seq]
    full = verify_file(
        scene.folder, AuditKeys.from_signing_key(KEY), anchors=anchors, external=scene.external
    )
    public = verify_file(scene.folder, KEY.public_key(), anchors=anchors, external=scene.external)
    return check_run_ends(full, ends), check_run_ends(public, ends)


ALL_CASES = {**CASES, **SEGMENT_CASES}
ALL_ACCEPTED = ACCEPTED | SEGMENT_ACCEPTED


def tampered(folder: Path, case: str) -> Scene:
    scene = build_segmented(folder) if case in SEGMENT_CASES else build(folder)
    tamper = ALL_CASES[case]
    if tamper is not None:
        tamper(scene)
    return scene


def test_there_are_at_least_26_tamper_cases():
    assert len(set(CASES) - ACCEPTED) >= 26


@pytest.mark.parametrize("case", sorted(ALL_CASES))
def test_tamper_case_verdict_matches_golden(tmp_path: Path, case: str):
    full, public = verdicts(tampered(tmp_path / "audit", case))
    got = f"key: {verdict_text(full)}\npublic-key: {verdict_text(public)}\n"
    golden = GOLDEN / f"{case}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got, "utf-8")
    assert got == golden.read_text("utf-8")


@pytest.mark.parametrize("case", sorted(set(ALL_CASES) - ALL_ACCEPTED))
def test_every_tamper_case_fails_with_the_key(tmp_path: Path, case: str):
    full, _ = verdicts(tampered(tmp_path / "audit", case))
    assert not full.ok, case
    assert full.problem is not None


@pytest.mark.parametrize("case", sorted(ALL_ACCEPTED))
def test_accepted_cases_pass_with_the_key(tmp_path: Path, case: str):
    full, _ = verdicts(tampered(tmp_path / "audit", case))
    assert full.ok, full.problem


def test_wrong_public_key_fails_on_the_first_checkpoint(tmp_path: Path):
    build(tmp_path / "audit")
    verdict = verify_file(tmp_path / "audit", OTHER_KEY.public_key())
    assert verdict.problem is not None
    assert (verdict.problem.kind, verdict.problem.seq) == ("bad-signature", 5)


def test_the_swapped_audit_pub_does_not_fool_an_auditor_who_uses_it(tmp_path: Path):
    """Verifying with the attacker's key (the copy beside the trail) still fails on the
    ledger's anchors, which only the installation's key signed."""
    scene = tampered(tmp_path / "audit", "swapped-audit-pub")
    verdict = verify_file(
        scene.folder, OTHER_KEY.public_key(), anchors=scene.anchors.since_restart(TRAIL)
    )
    assert verdict.problem is not None
    assert (verdict.problem.kind, verdict.problem.seq) == ("bad-signature", 5)
    assert "the ledger's signed anchor for record 5" in verdict.problem.message


def test_records_after_the_last_checkpoint_are_signed_by_the_head(tmp_path: Path):
    build(tmp_path / "audit")
    verdict = verify_file(tmp_path / "audit", KEY.public_key())
    assert verdict.ok and verdict.last_seq == 13 and verdict.signed_through == 10
    assert not verdict.warnings


def test_a_crash_before_the_head_is_a_note_with_the_key(tmp_path: Path):
    scene = tampered(tmp_path / "audit", "crash-before-head")
    full, public = verdicts(scene)
    assert full.ok and "record 14 came after the last signed point (record 13)" in full.warnings[0]
    assert public.problem is not None and public.problem.kind == "unproven"


def test_ledger_run_end_beyond_the_trail_is_truncation(tmp_path: Path):
    build(tmp_path / "audit")
    intact = verify_file(tmp_path / "audit", KEY.public_key())
    last = intact.last_seq
    assert check_run_ends(intact, [("run-a", 3), ("run-b", last)]).ok
    cut = check_run_ends(verify_file(tmp_path / "audit", KEY.public_key()), [("run-b", last + 4)])
    assert not cut.ok and cut.problem is not None
    assert (cut.problem.kind, cut.problem.seq) == ("truncated", last + 1)
    assert "run run-b ended at audit record" in cut.problem.message
