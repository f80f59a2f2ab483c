"""``audit repair`` keeps every complete record; ``audit restart`` records the loss it ends.

Both leave a signed record of what they did, and neither lets a rollback or a forgery
through: what they cannot prove they refuse, saying what to do instead.
"""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from borough.audit import records
from borough.audit.keys import AuditKeys
from borough.audit.repair import repair, restart
from borough.audit.verify import verify_file
from borough.errors import AuditError
from tests.support.tamper import CASES, KEY, TRAIL, Scene, build, item_fields

OPS = {"host": TRAIL, "actor": "user:ops"}


def full_verdict(scene: Scene):
    return verify_file(
        scene.folder,
        AuditKeys.from_signing_key(KEY),
        anchors=scene.anchors.since_restart(TRAIL),
    )


def trail_records(scene: Scene) -> list[dict]:
    return [json.loads(line) for line in scene.log.read_text("utf-8").splitlines()]


def test_a_torn_record_is_moved_aside_and_every_complete_record_kept(tmp_path: Path):
    scene = build(tmp_path / "audit")
    complete = scene.log.read_bytes()
    torn = b'{"action":"item.intent","attempt":1,"bot":"de'
    with scene.log.open("ab") as handle:
        handle.write(torn)
    sink = scene.sink()
    report = repair(sink, OPS)
    sink.close()
    assert report.reasons == ["torn"] and report.kept_through == 13
    assert report.removed_bytes == len(torn)
    assert report.removed_sha256 == hashlib.sha256(torn).hexdigest()
    assert report.quarantine is not None and report.quarantine.read_bytes() == torn
    assert stat.S_IMODE(report.quarantine.stat().st_mode) == 0o600
    assert scene.log.read_bytes().startswith(complete)
    repaired = trail_records(scene)[-1]
    assert repaired["action"] == records.REPAIRED and repaired["actor"] == "user:ops"
    assert repaired["detail"]["removed_sha256"] == report.removed_sha256
    assert full_verdict(scene).ok


def test_a_record_missing_only_its_newline_is_kept(tmp_path: Path):
    scene = build(tmp_path / "audit")
    scene.log.write_bytes(scene.log.read_bytes()[:-1])
    sink = scene.sink()
    report = repair(sink, OPS)
    sink.close()
    assert report.reasons == ["newline-missing"] and report.removed_bytes == 0
    assert [r["seq"] for r in trail_records(scene)] == list(range(1, 15))
    assert full_verdict(scene).ok


def test_nothing_to_repair_writes_nothing(tmp_path: Path):
    scene = build(tmp_path / "audit")
    before = scene.log.read_bytes()
    sink = scene.sink()
    report = repair(sink, OPS)
    sink.close()
    assert not report.repaired and scene.log.read_bytes() == before


def test_forged_records_are_quarantined_only_when_asked(tmp_path: Path):
    scene = build(tmp_path / "audit")
    CASES["forged-50-after-head"](scene)  # type: ignore[misc]
    sink = scene.sink()
    with pytest.raises(AuditError, match="--quarantine-unproven"):
        repair(sink, OPS)
    report = repair(sink, OPS, quarantine_unproven=True)
    sink.append(item_fields(40))
    sink.close()
    assert report.reasons == ["unproven"] and report.removed_records == 50
    assert report.quarantine is not None
    assert report.quarantine.read_text("utf-8").count("FORGED-") == 50
    assert full_verdict(scene).ok


def test_a_missing_head_is_signed_again_when_macs_and_anchors_prove_the_trail(tmp_path: Path):
    scene = build(tmp_path / "audit")
    scene.head.unlink()
    sink = scene.sink()
    report = repair(sink, OPS)
    sink.close()
    assert report.reasons == ["head-missing"]
    assert full_verdict(scene).ok


def test_a_missing_head_does_not_hide_a_rollback(tmp_path: Path):
    scene = build(tmp_path / "audit")
    log, _ = scene.snapshots[7]
    scene.log.write_bytes(log)
    scene.head.unlink()
    sink = scene.sink()
    with pytest.raises(AuditError, match="truncated at record 8"):
        repair(sink, OPS)
    sink.close()


def test_a_cut_trail_is_not_repaired(tmp_path: Path):
    scene = build(tmp_path / "audit")
    CASES["truncated"](scene)
    sink = scene.sink()
    with pytest.raises(AuditError, match="records 12-13 were cut off"):
        repair(sink, OPS)
    sink.close()


def test_restart_is_refused_for_an_intact_trail(tmp_path: Path):
    scene = build(tmp_path / "audit")
    sink = scene.sink()
    with pytest.raises(AuditError, match="nothing to restart"):
        restart(sink, OPS, "testing")
    sink.close()


def test_restart_keeps_the_lost_files_and_names_the_last_anchor(tmp_path: Path):
    scene = build(tmp_path / "audit")
    CASES["rollback-with-old-head"](scene)
    sink = scene.sink()
    report = restart(sink, OPS, "rolled back by someone; see incident 42")
    sink.append(item_fields(1))
    sink.close()
    assert report.moved_to is not None and (report.moved_to / "audit.jsonl").exists()
    assert report.last_anchor is not None and report.last_anchor["seq"] == 10
    first = trail_records(scene)[0]
    assert first["action"] == records.RESTARTED and first["seq"] == 1
    assert first["detail"]["lost_chain_last_anchor"]["seq"] == 10
    assert "incident 42" in first["detail"]["reason"]
    assert scene.anchors.rows[-1].kind == "restart"
    assert full_verdict(scene).ok


def test_a_running_writer_follows_a_restart(tmp_path: Path):
    scene = build(tmp_path / "audit")
    running = scene.sink()
    running.append(item_fields(20))
    scene.log.unlink()
    fixer = scene.sink()
    restart(fixer, OPS, "trail deleted")
    fixer.close()
    running.append(item_fields(21))
    running.close()
    assert [r["seq"] for r in trail_records(scene)] == [1, 2]
    assert full_verdict(scene).ok
