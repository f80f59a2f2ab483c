"""Group commit: many records, one fsync and one signed head, never a half-kept group.

A group makes its records as they come (each knows its seq at once) and writes them and
makes them durable together when it ends. Whatever a record gates waits for the end of the
group, so a group that fails must leave nothing of itself, and a writer killed inside one
leaves none of its records: the next writer goes on from the last durable one and verify
accepts the trail. (Killed during the group's write, it leaves some and a torn line: see
test_audit_torn_end.py.)
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from borough.audit import chain as chain_module
from borough.audit.chain import ChainSink
from borough.audit.head import read_head
from borough.audit.keys import AuditKeys
from borough.audit.verify import verify_file
from borough.errors import AuditError
from tests.support.tamper import KEY, build, item_fields

KEYS = AuditKeys.from_signing_key(KEY)


def test_a_group_is_made_durable_once_at_its_end(tmp_path: Path, monkeypatch):
    scene = build(tmp_path / "audit")
    sink = scene.sink(checkpoint_every=1000)
    calls: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(chain_module.os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd)))
    head_before, log_before = scene.head.read_bytes(), scene.log.read_bytes()
    with sink.group():
        seqs = [sink.append(item_fields(i))["seq"] for i in range(50)]
        assert scene.head.read_bytes() == head_before, "the head is signed at the group's end"
        assert scene.log.read_bytes() == log_before, "the lines are written at the group's end"
        assert calls == [], "nothing is flushed record by record inside a group"
    sink.close()
    assert seqs == list(range(14, 64))
    assert len(calls) == 1
    head = read_head(scene.head)
    assert head is not None and head.seq == 63
    verdict = verify_file(scene.folder, KEYS)
    assert verdict.ok and verdict.last_seq == 63, verdict.problem


def test_groups_nest_and_the_outer_one_commits(tmp_path: Path):
    scene = build(tmp_path / "audit")
    sink = scene.sink()
    with sink.group():
        sink.append(item_fields(1))
        with sink.group():
            sink.append(item_fields(2))
        assert read_head(scene.head).seq == 13  # type: ignore[union-attr]
        sink.append(item_fields(3))
    sink.close()
    verdict = verify_file(scene.folder, KEYS)
    assert verdict.ok and verdict.last_seq == 17, verdict.problem  # a checkpoint at 15


def test_a_write_that_fails_inside_a_group_undoes_the_whole_group(tmp_path: Path, monkeypatch):
    scene = build(tmp_path / "audit")
    before = (scene.log.read_bytes(), scene.head.read_bytes())
    sink = scene.sink()
    real_write = chain_module.write_all
    writes = 0

    def full_disk(fd: int, data: bytes) -> None:
        nonlocal writes
        writes += 1
        if writes == 1:  # the group's one write: some lines and a torn one, as a full disk
            real_write(fd, data[: len(data) // 2 + 10])
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(fd, data)

    monkeypatch.setattr(chain_module, "write_all", full_disk)
    with pytest.raises(AuditError, match="no space left"), sink.group():
        for i in range(6):
            sink.append(item_fields(i))
    assert (scene.log.read_bytes(), scene.head.read_bytes()) == before
    monkeypatch.setattr(chain_module, "write_all", real_write)
    record = sink.append(item_fields(7))
    sink.close()
    assert record["seq"] == 14
    assert verify_file(scene.folder, KEYS).ok


def test_an_error_in_the_caller_still_commits_what_the_group_wrote(tmp_path: Path):
    scene = build(tmp_path / "audit")
    sink = scene.sink()
    with pytest.raises(RuntimeError), sink.group():
        sink.append(item_fields(1))
        raise RuntimeError("the bot failed")
    sink.close()
    assert read_head(scene.head).seq == 15  # type: ignore[union-attr]  (14 and a checkpoint)
    assert verify_file(scene.folder, KEYS).ok


def _killed_inside_a_group(folder: str) -> None:
    sink = ChainSink(Path(folder), KEY, checkpoint_every=1000, trail_id="runner-1")
    with sink.group():
        for i in range(20):
            sink.append(item_fields(i))
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_writer_killed_inside_a_group_leaves_none_of_its_records(tmp_path: Path):
    scene = build(tmp_path / "audit")
    before = scene.log.read_bytes()
    child = multiprocessing.get_context("fork").Process(
        target=_killed_inside_a_group, args=(str(scene.folder),)
    )
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert scene.log.read_bytes() == before, "nothing gated by the group happened"
    sink = scene.sink(anchors=False, checkpoint_every=1000)
    record = sink.append(item_fields(30))
    sink.close()
    assert record["seq"] == 14
    verdict = verify_file(scene.folder, KEYS)
    assert verdict.ok and verdict.last_seq == 14, verdict.problem
