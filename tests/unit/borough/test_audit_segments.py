"""The live file rolls over into closed segments; every writer path keeps working across them.

Each test writes a real trail with a tiny segment size (tests/support/segments.py), does
what a crash, a second process or retention would, and then verifies the whole trail.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from pathlib import Path

import pytest

from borough.audit import records
from borough.audit.chain import ChainSink
from borough.audit.keys import AuditKeys
from borough.audit.purge import purge_before
from borough.audit.repair import repair, restart
from borough.audit.segments import closed_segments, closing_detail, last_line, segment_name
from borough.audit.verify import verify_file
from borough.errors import AuditError
from tests.support.segments import SEGMENT_BYTES, build_segmented, segment_files
from tests.support.tamper import KEY, TRAIL, Scene, item_fields

FULL = AuditKeys.from_signing_key(KEY)


def segmented_sink(scene: Scene, checkpoint_every: int = 5, **options: object) -> ChainSink:
    sink = scene.sink(checkpoint_every=checkpoint_every)
    sink.roller = type(sink.roller)(
        sink,
        segment_bytes=options.get("segment_bytes", SEGMENT_BYTES),  # type: ignore[arg-type]
        daily=bool(options.get("daily", False)),
    )
    return sink


def test_each_closed_segment_ends_with_a_signed_checkpoint_naming_the_next(tmp_path: Path):
    scene = build_segmented(tmp_path / "audit")
    files = closed_segments(scene.folder)
    assert len(files) >= 3
    for current, following in zip(files, [*files[1:], None], strict=True):
        raw = current.path.read_bytes()
        closing = last_line(current.path)
        assert closing is not None
        record = records.parse_line(closing.raw)
        segment = closing_detail(record)
        assert segment is not None and record["signature"]
        assert segment["first_seq"] == current.first_seq
        assert segment["sha256"] == hashlib.sha256(raw[: closing.offset]).hexdigest()
        assert segment["next_file"] == segment_name(record["seq"] + 1)
        if following is not None:
            first = records.parse_line(following.path.read_bytes().split(b"\n")[0])
            assert (first["seq"], first["prev_hash"]) == (segment["next_seq"], record["hash"])
    assert verify_file(scene.folder, FULL).ok


def test_a_roll_over_interrupted_before_the_rename_is_finished_by_the_next_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    scene = Scene(tmp_path / "audit")
    sink = segmented_sink(scene)
    real_rename = os.rename
    calls = {"n": 0}

    def dies_once(src: object, dst: object) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(5, "Input/output error")
        real_rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", dies_once)
    with pytest.raises(AuditError):
        for i in range(6):
            sink.append(item_fields(i))
    sink.close()
    assert not closed_segments(scene.folder)
    assert closing_detail(records.parse_line(last_line(scene.log).raw)) is not None  # type: ignore[union-attr]
    again = segmented_sink(scene)
    again.append(item_fields(20))
    again.close()
    assert len(closed_segments(scene.folder)) == 1
    verdict = verify_file(scene.folder, FULL)
    assert verdict.ok, verdict.problem
    assert records.parse_line(scene.log.read_bytes())["step"] == "submit"


def test_daily_segments_hold_one_utc_day_each(tmp_path: Path):
    scene = Scene(tmp_path / "audit")
    sink = segmented_sink(scene, segment_bytes=None, daily=True)
    for day in (1, 1, 2, 2, 2, 3):
        sink.append({**item_fields(0), "ts": f"2026-11-{day:02d}T09:00:00.000000Z"})
    sink.close()
    days = []
    for segment in closed_segments(scene.folder):
        rows = [json.loads(line) for line in segment.path.read_text().splitlines()]
        days.append({r["ts"][:10] for r in rows if r["action"] != "audit.checkpoint"})
    assert days == [{"2026-11-01"}, {"2026-11-02"}]
    assert verify_file(scene.folder, FULL).ok


def _append_many(folder: str, worker: int, count: int) -> None:
    scene = Scene(Path(folder))
    sink = segmented_sink(scene)
    for i in range(count):
        sink.append(item_fields(i, step=f"w{worker}-{i}"))
    sink.close()


def test_four_processes_append_across_roll_overs_without_losing_a_record(tmp_path: Path):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), w, 30)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    verdict = verify_file(tmp_path, FULL)
    assert verdict.ok, verdict.problem
    assert verdict.segments > 5
    steps = [
        json.loads(line)["step"]
        for path in [*(f.path for f in closed_segments(tmp_path)), tmp_path / "audit.jsonl"]
        for line in path.read_text("utf-8").splitlines()
    ]
    assert sorted(s for s in steps if s and s.startswith("w")) == sorted(
        f"w{w}-{i}" for w in range(4) for i in range(30)
    )


def test_retention_drops_whole_segments_and_the_trail_still_verifies(tmp_path: Path):
    """Records of 1-16 November; a cut-off of 9 November drops the segments whose newest
    record is older, and keeps the one that straddles it whole."""
    scene = Scene(tmp_path / "audit")
    sink = segmented_sink(scene, checkpoint_every=1000)
    for i in range(16):
        sink.append(item_fields(i))
    before = closed_segments(scene.folder)
    newest = [json.loads(last_line(f.path).raw)["detail"]["segment"]["last_ts"] for f in before]  # type: ignore[union-attr]
    cutoff = "2026-11-09T00:00:00.000000Z"
    dropped = sum(1 for ts in newest if ts < cutoff)
    assert 0 < dropped < len(before)
    result = purge_before(sink, cutoff, {"host": TRAIL})
    sink.close()
    after = closed_segments(scene.folder)
    assert [f.first_seq for f in after] == [f.first_seq for f in before[dropped:]]
    assert result.purged_through_seq == (before[dropped].first_seq or 0) - 1
    verdict = verify_file(scene.folder, FULL, anchors=scene.anchors.since_restart(TRAIL))
    assert verdict.ok, verdict.problem
    assert verdict.first_seq == before[dropped].first_seq


def test_a_torn_record_right_after_a_roll_over_is_repaired(tmp_path: Path):
    scene = build_segmented(tmp_path / "audit")
    assert scene.log.read_bytes() == b""  # the last append closed a segment
    scene.log.write_bytes(b'{"action":"item.intent","bot":"de')
    assert verify_file(scene.folder, FULL).problem.kind == "torn"  # type: ignore[union-attr]
    sink = segmented_sink(scene)
    report = repair(sink, {"host": TRAIL, "actor": "user:ops"})
    sink.append(item_fields(40))
    sink.close()
    assert report.reasons == ["torn"] and report.removed_bytes == 33
    verdict = verify_file(scene.folder, FULL, anchors=scene.anchors.since_restart(TRAIL))
    assert verdict.ok, verdict.problem


def test_the_next_writer_mends_a_torn_record_right_after_a_roll_over(tmp_path: Path):
    scene = build_segmented(tmp_path / "audit")
    segments = [path.read_bytes() for path in segment_files(scene)]
    scene.log.write_bytes(b'{"action":"item.intent","bot":"de')
    sink = segmented_sink(scene)
    record = sink.append(item_fields(40))
    sink.close()
    assert [path.read_bytes() for path in segment_files(scene)][: len(segments)] == segments
    repaired, appended = (json.loads(line) for line in scene.log.read_bytes().splitlines())
    assert repaired["action"] == records.REPAIRED and repaired["detail"]["removed_bytes"] == 33
    assert appended["seq"] == record["seq"] == repaired["seq"] + 1
    verdict = verify_file(scene.folder, FULL, anchors=scene.anchors.since_restart(TRAIL))
    assert verdict.ok, verdict.problem


def test_restart_moves_the_segments_aside_with_the_lost_trail(tmp_path: Path):
    scene = build_segmented(tmp_path / "audit")
    segment_files(scene)[1].unlink()
    scene.head.unlink()
    sink = segmented_sink(scene)
    report = restart(sink, {"host": TRAIL, "actor": "user:ops"}, "segment lost")
    sink.close()
    assert report.moved_to is not None and (report.moved_to / "segments").is_dir()
    assert not closed_segments(scene.folder)
    verdict = verify_file(scene.folder, FULL, anchors=scene.anchors.since_restart(TRAIL))
    assert verdict.ok, verdict.problem
