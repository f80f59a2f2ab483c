"""Incremental and parallel verification give the verdict a full ordered walk gives.

``audit verify`` remembers the last signed point it proved and walks only what came after;
``--full`` walks every record on both cores. Neither may miss what the ordered walk of
``verify_file`` names: every golden tamper case is run through both, after a first
verification remembered the intact trail.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from borough.audit import parallel
from borough.audit.index import catch_up, reindex
from borough.audit.keys import AuditKeys
from borough.audit.segments import closed_segments
from borough.audit.verify import verify_file
from borough.audit.verifytrail import TrailCheck, verify_trail
from borough.ledger.store import AuditBooks
from tests.support.segments import SEGMENT_CASES, build_segmented
from tests.support.tamper import CASES, KEY, TRAIL, Scene, build, item_fields
from tests.unit.borough.test_audit_verify import verdict_text

FULL = AuditKeys.from_signing_key(KEY)


@pytest.fixture
def books(tmp_path: Path):
    books = AuditBooks(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield books
    books.close()


def check(scene: Scene, books: AuditBooks | None, **options: object) -> TrailCheck:
    return TrailCheck(
        scene.folder,
        TRAIL,
        FULL,
        anchors=scene.anchors.since_restart(TRAIL),
        external=scene.external,
        index=books.index if books and options.pop("index", True) else None,
        states=books.verified if books else None,
        signer=FULL,
        verifier=TRAIL,
        **options,  # type: ignore[arg-type]
    )


def scene_for(folder: Path, case: str) -> Scene:
    return build_segmented(folder) if case in SEGMENT_CASES else build(folder)


@pytest.mark.parametrize("case", sorted({**CASES, **SEGMENT_CASES}))
def test_an_incremental_verify_names_what_the_full_walk_names(
    tmp_path: Path, books: AuditBooks, case: str
):
    scene = scene_for(tmp_path / "audit", case)
    first = verify_trail(check(scene, books, index=False))
    assert first.ok, first.problem
    tamper = {**CASES, **SEGMENT_CASES}[case]
    if tamper is not None:
        tamper(scene)
    incremental = verify_trail(check(scene, books, index=False))
    full = verify_file(
        scene.folder, FULL, anchors=scene.anchors.since_restart(TRAIL), external=scene.external
    )
    assert verdict_text(incremental) == verdict_text(full)


@pytest.mark.parametrize("case", sorted({**CASES, **SEGMENT_CASES}))
def test_a_parallel_verify_names_what_the_ordered_walk_names(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 900)  # one to three records per chunk
    monkeypatch.setattr(parallel, "START_METHOD", "fork")
    scene = scene_for(tmp_path / "audit", case)
    tamper = {**CASES, **SEGMENT_CASES}[case]
    if tamper is not None:
        tamper(scene)
    both = verify_trail(check(scene, None, full=True))
    ordered = verify_file(
        scene.folder, FULL, anchors=scene.anchors.since_restart(TRAIL), external=scene.external
    )
    assert verdict_text(both) == verdict_text(ordered)


def test_only_records_after_the_remembered_point_are_walked(tmp_path: Path, books: AuditBooks):
    scene = build_segmented(tmp_path / "audit")
    first = verify_trail(check(scene, books))
    assert first.ok and first.checked == first.records
    sink = scene.sink()
    for i in range(7):
        sink.append(item_fields(40 + i))
    sink.close()
    again = verify_trail(check(scene, books))
    assert again.ok, again.problem
    assert again.records == first.records + 8  # seven records and a checkpoint
    assert again.checked <= 8 and again.last_seq == first.records + 8


def test_an_edit_before_the_point_is_caught_even_with_the_file_times_put_back(
    tmp_path: Path, books: AuditBooks
):
    scene = build_segmented(tmp_path / "audit")
    assert verify_trail(check(scene, books)).ok
    path = closed_segments(scene.folder)[1].path
    stamp = os.stat(path)
    lines = path.read_text("utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace('"outcome":"done"', '"outcome":"fail"')
    path.write_text("".join(lines), "utf-8")
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    verdict = verify_trail(check(scene, books))
    assert verdict.problem is not None
    assert (verdict.problem.kind, verdict.problem.seq) == ("modified", 8)


def test_a_forged_remembered_point_is_ignored(tmp_path: Path, books: AuditBooks):
    scene = build_segmented(tmp_path / "audit")
    assert verify_trail(check(scene, books)).ok
    state = json.loads(books.verified.get(TRAIL, TRAIL) or "{}")
    state["seq"] += 3  # skip the walk past records an attacker changed
    books.verified.put(TRAIL, TRAIL, json.dumps(state))
    verdict = verify_trail(check(scene, books))
    assert verdict.ok and verdict.checked == verdict.records


def test_the_index_must_agree_with_the_chain(tmp_path: Path, books: AuditBooks):
    scene = build_segmented(tmp_path / "audit")
    catch_up(books.index, TRAIL, scene.folder)
    assert verify_trail(check(scene, books, full=True)).ok
    with books.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM borough_audit_index WHERE seq = 9")
    verdict = verify_trail(check(scene, books, full=True))
    assert verdict.problem is not None
    assert (verdict.problem.kind, verdict.problem.seq) == ("index", 9)
    assert "borough audit reindex" in verdict.problem.message
    reindex(books.index, TRAIL, scene.folder)
    with books.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE borough_audit_index SET byte_offset = 0 WHERE seq = 10")
    verdict = verify_trail(check(scene, books, full=True))
    assert verdict.problem is not None and (verdict.problem.kind, verdict.problem.seq) == (
        "index",
        10,
    )


def test_records_the_writer_never_sent_to_the_index_are_added_before_checking(
    tmp_path: Path, books: AuditBooks
):
    """A writer killed before its batch reached the index is not an index problem."""
    scene = build(tmp_path / "audit")
    assert books.index.count(TRAIL) == 0
    verdict = verify_trail(check(scene, books))
    assert verdict.ok, verdict.problem
    assert books.index.count(TRAIL) == verdict.records
