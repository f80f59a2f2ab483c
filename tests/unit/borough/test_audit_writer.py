"""The trail's writer refuses to write after what it cannot prove, and adopts what it can.

Each test builds a real trail (tests/support/tamper.py), does what an attacker or a crash
would, then appends through the writer: it must refuse with a message naming the record
and what to do, leave the file as it was, or (for its own unsigned records) sign over them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from borough.audit.chain import ChainSink
from borough.audit.keys import AuditKeys
from borough.audit.verify import verify_file
from borough.errors import AuditError
from tests.support.tamper import (
    CASES,
    KEY,
    OTHER_KEY,
    TRAIL,
    Scene,
    build,
    item_fields,
    lines,
    write,
)


def refused(scene: Scene, match: str) -> AuditError:
    before = (scene.log.read_bytes(), scene.head.read_bytes() if scene.head.exists() else None)
    sink = scene.sink()
    with pytest.raises(AuditError, match=match) as caught:
        sink.append(item_fields(40))
    sink.close()
    after = (scene.log.read_bytes(), scene.head.read_bytes() if scene.head.exists() else None)
    assert after == before, "a refused append must leave trail and head untouched"
    return caught.value


@pytest.mark.parametrize("count", [1, 50])
def test_forged_records_after_the_head_are_refused(tmp_path: Path, count: int):
    scene = build(tmp_path / "audit")
    CASES[f"forged-{count}-after-head"](scene)  # type: ignore[misc]
    error = refused(scene, "record 14, after the last signed record 13, was not written")
    assert "MAC does not match" in str(error)
    assert "borough audit repair --quarantine-unproven" in str(error)
    if count > 1:
        assert f"Records 14-{13 + count} may be forged" in str(error)


def test_a_writer_that_died_before_signing_is_adopted(tmp_path: Path):
    scene = build(tmp_path / "audit")
    CASES["crash-before-head"](scene)
    sink = scene.sink()
    record = sink.append(item_fields(41))
    sink.close()
    assert record["seq"] == 15
    verdict = verify_file(scene.folder, KEY.public_key())
    assert verdict.ok and verdict.last_seq == 15 and not verdict.warnings


def test_a_rollback_below_the_ledger_anchor_is_refused(tmp_path: Path):
    scene = build(tmp_path / "audit")
    CASES["rollback-with-old-head"](scene)
    error = refused(scene, "the ledger holds a signed anchor for record 10")
    assert "rolled back or cut" in str(error)


def test_a_rollback_under_a_running_writer_is_refused_without_any_anchor(tmp_path: Path):
    scene = build(tmp_path / "audit")
    sink = scene.sink(anchors=False)
    sink.append(item_fields(41))
    log, head = scene.snapshots[12]
    scene.log.write_bytes(log)
    scene.head.write_bytes(head)
    with pytest.raises(AuditError, match="shorter than record 15 that this process wrote"):
        sink.append(item_fields(42))
    sink.close()


def test_a_trail_changed_under_a_running_writer_is_refused(tmp_path: Path):
    scene = build(tmp_path / "audit")
    sink = scene.sink(anchors=False)
    sink.append(item_fields(41))
    rows = lines(scene)
    rows[-1] = rows[-1].replace('"outcome":"ok"', '"outcome":"ko"')
    write(scene, rows)
    with pytest.raises(AuditError, match="changed behind borough's back"):
        sink.append(item_fields(42))
    sink.close()


def test_a_new_chain_is_refused_while_the_ledger_holds_anchors(tmp_path: Path):
    scene = build(tmp_path / "audit")
    scene.log.unlink()
    scene.head.unlink()
    sink = scene.sink()
    with pytest.raises(AuditError, match=r"borough audit restart --reason"):
        sink.append(item_fields(0))
    sink.close()
    assert scene.log.read_bytes() == b""


@pytest.mark.parametrize(
    ("case", "match"),
    [
        (
            "torn-last-line",
            r"incomplete record \(286 bytes after record 12\).*records 13-13 were cut off",
        ),
        ("head-deleted", "audit.head is missing"),
        ("head-from-other-installation", "not signed by this installation's key"),
        ("forged-head", "not signed by this installation's key"),
        ("truncated", "records 12-13 were cut off"),
        ("forged-v1-record-after-head", "old format borough.audit/1, which carries no MAC"),
        ("deleted-and-new-chain", "record 10 differs from the ledger's signed anchor"),
    ],
)
def test_the_writer_refuses_what_verify_would_reject(tmp_path: Path, case: str, match: str):
    scene = build(tmp_path / "audit")
    CASES[case](scene)  # type: ignore[misc]
    refused(scene, match)


def test_a_damaged_head_is_refused_with_the_way_out(tmp_path: Path):
    scene = build(tmp_path / "audit")
    scene.head.write_text("")
    error = refused(scene, "audit.head is damaged")
    assert "borough audit repair" in str(error)


def test_nothing_touches_the_disk_before_the_first_append(tmp_path: Path):
    folder = tmp_path / "not-yet"
    sink = ChainSink(folder, KEY)
    assert not folder.exists()
    sink.close()


def test_trail_files_are_private(tmp_path: Path):
    folder = tmp_path / "audit"
    folder.mkdir(mode=0o755)
    (folder / "audit.jsonl").touch(mode=0o644)
    os.chmod(folder / "audit.jsonl", 0o644)
    sink = ChainSink(folder, KEY)
    sink.append(item_fields(0))
    sink.close()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("audit.jsonl", "audit.head", "audit.pub"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


def test_values_json_cannot_hold_are_written_as_text(tmp_path: Path):
    sink = ChainSink(tmp_path, KEY)
    record = sink.append({**item_fields(0), "detail": {"amount": float("nan"), "x": float("inf")}})
    sink.close()
    assert record["detail"] == {"amount": "nan", "x": "inf"}
    assert verify_file(tmp_path, AuditKeys.from_signing_key(KEY)).ok


def test_a_trail_written_with_another_key_is_not_continued(tmp_path: Path):
    scene = build(tmp_path / "audit")
    other = ChainSink(scene.folder, OTHER_KEY, trail_id=TRAIL)
    with pytest.raises(AuditError, match="not signed by this installation's key"):
        other.append(item_fields(40))
    other.close()


def _append_many(folder: str, worker: int, count: int) -> None:
    sink = ChainSink(Path(folder), KEY, checkpoint_every=7)
    for i in range(count):
        sink.append(item_fields(i, step=f"w{worker}-{i}"))
    sink.close()


def test_processes_appending_together_keep_one_provable_chain(tmp_path: Path):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), w, 40)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    verdict = verify_file(tmp_path, AuditKeys.from_signing_key(KEY))
    assert verdict.ok, verdict.problem
    trail = (tmp_path / "audit.jsonl").read_text("utf-8").splitlines()
    steps = [json.loads(line)["step"] for line in trail]
    assert sum(1 for s in steps if s and s.startswith("w")) == 160


def test_digests_are_never_redacted(tmp_path: Path):
    """A hex digest can hold eight digits in a row ("…d70513664e…"), which the redactor
    reads as a bank account number; a redacted purge hash would break the chain's proof,
    a redacted key fingerprint would no longer match the ledger's."""
    from borough.audit.redact import Redactor

    digest = "1a0be3683d70513664e779127027a7f0bdfb74816f9cfc66c75ed57e5571e7a5"
    detail = {
        "purged_through_hash": digest,
        "inputs": {"csv": {"sha256": digest}},
        "fingerprint": f"sha256:{digest}",
        "note": f"account 70513664 at {digest[:8]}",
    }
    sink = ChainSink(tmp_path, KEY, redact=Redactor().redact)
    record = sink.append({**item_fields(0), "detail": detail})
    sink.close()
    assert record["detail"] == {**detail, "note": "account [BANK] at 1a0be368"}
