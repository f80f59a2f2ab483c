"""A writer killed in the middle of a write leaves a torn end; the next writer mends it.

SIGKILL can stop a ``write`` between two pages, so a writer killed mid-write leaves the
trail ending in an incomplete line (after some complete records of the write). Nothing
that line records was made durable or acted on. Under its lock, the next writer moves
the torn bytes aside exactly as ``borough audit repair`` does (quarantine file, signed
``audit.repaired`` record with their size and SHA-256), warns, and appends: provided the
complete part proves exactly as it would without the torn bytes. Anything else it still
refuses, leaving trail and head untouched.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import signal
import stat
from pathlib import Path

import pytest
from loguru import logger

from borough.audit import chain as chain_module
from borough.audit import records
from borough.audit.chain import ChainSink
from borough.audit.files import QUARANTINE_NAME
from borough.audit.keys import AuditKeys
from borough.audit.repair import restart
from borough.audit.verify import verify_file
from borough.errors import AuditError
from tests.support.tamper import ACCEPTED, CASES, KEY, TRAIL, Scene, build, item_fields

KEYS = AuditKeys.from_signing_key(KEY)


def _killed_mid_write(folder: str, lines: int) -> None:
    """Append ``lines`` records in a group; the kernel stops a write between two pages:
    the group's one write (or, a write a record, the fourth) is cut inside a line."""
    real_write_all = chain_module.write_all
    calls = 0

    def cut_short(fd: int, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if data.count(b"\n") > 1 or calls == 4:
            cut = data.rfind(b"\n", 0, len(data) // 2) + 1 + 40  # 40 bytes into a line
            os.write(fd, data[:cut])
            os.kill(os.getpid(), signal.SIGKILL)
        real_write_all(fd, data)

    chain_module.write_all = cut_short  # type: ignore[assignment]
    sink = ChainSink(Path(folder), KEY, checkpoint_every=1000, trail_id=TRAIL)
    with sink.group():
        for i in range(lines):
            sink.append(item_fields(i))


def killed_mid_write(scene: Scene, lines: int = 20) -> None:
    child = multiprocessing.get_context("fork").Process(
        target=_killed_mid_write, args=(str(scene.folder), lines)
    )
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL


def trail_records(scene: Scene) -> list[dict]:
    return [json.loads(line) for line in scene.log.read_bytes().splitlines(keepends=True)]


@pytest.fixture
def warnings() -> list[str]:
    seen: list[str] = []
    handler = logger.add(seen.append, level="WARNING", format="{extra[action]} | {message}")
    yield seen
    logger.remove(handler)


def test_the_next_writer_moves_a_torn_end_aside_and_carries_on(tmp_path: Path, warnings: list[str]):
    scene = build(tmp_path / "audit")
    killed_mid_write(scene)
    data = scene.log.read_bytes()
    complete, torn = data[: data.rfind(b"\n") + 1], data[data.rfind(b"\n") + 1 :]
    assert torn, "the kill left a torn line"
    assert verify_file(scene.folder, KEYS).problem.kind == "torn"  # type: ignore[union-attr]
    kept = complete.count(b"\n")

    sink = scene.sink()
    record = sink.append(item_fields(30))
    sink.close()

    assert scene.log.read_bytes().startswith(complete), "no complete record is lost"
    [moved] = (scene.folder / QUARANTINE_NAME).iterdir()
    assert moved.read_bytes() == torn
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600
    *_, repaired, appended = trail_records(scene)
    assert repaired["action"] == records.REPAIRED and repaired["seq"] == kept + 1
    assert repaired["actor"] == "borough" and repaired["signature"]
    assert repaired["detail"]["reasons"] == ["torn"]
    assert repaired["detail"]["removed_bytes"] == len(torn)
    assert repaired["detail"]["removed_sha256"] == hashlib.sha256(torn).hexdigest()
    assert repaired["detail"]["quarantine"] == moved.name
    assert repaired["detail"]["kept_through_seq"] == kept
    assert appended == {**appended, "seq": kept + 2, "item": item_fields(30)["item"]}
    assert record["seq"] == kept + 2
    verdict = verify_file(scene.folder, KEYS, anchors=scene.anchors.since_restart(TRAIL))
    assert verdict.ok and verdict.last_seq == kept + 2, verdict.problem
    [warning] = [w for w in warnings if w.startswith(records.REPAIRED)]
    assert moved.name in warning and "incomplete record" in warning


def test_a_group_cut_mid_write_keeps_its_complete_records(tmp_path: Path):
    scene = build(tmp_path / "audit")
    killed_mid_write(scene, lines=60)
    kept = scene.log.read_bytes().count(b"\n")
    assert kept > 13, "some of the group's records were written before the kill"
    sink = scene.sink()
    sink.append(item_fields(30))
    sink.close()
    seqs = [r["seq"] for r in trail_records(scene)]
    assert seqs == list(range(1, kept + 3)), "complete records adopted, none lost"
    assert verify_file(scene.folder, KEYS).ok


def test_a_group_starting_on_a_torn_end_mends_it_first(tmp_path: Path):
    scene = build(tmp_path / "audit")
    killed_mid_write(scene)
    kept = scene.log.read_bytes().count(b"\n")
    sink = scene.sink(checkpoint_every=1000)
    with sink.group():
        seqs = [sink.append(item_fields(40 + i))["seq"] for i in range(3)]
    sink.close()
    assert seqs == [kept + 2, kept + 3, kept + 4]
    assert trail_records(scene)[kept]["action"] == records.REPAIRED
    assert verify_file(scene.folder, KEYS).ok


def test_a_record_cut_just_before_its_newline_is_kept(tmp_path: Path):
    scene = build(tmp_path / "audit")
    CASES["crash-before-head"](scene)  # record 14 after the signed head, MAC and all
    scene.log.write_bytes(scene.log.read_bytes()[:-1])
    sink = scene.sink()
    record = sink.append(item_fields(30))
    sink.close()
    assert not (scene.folder / QUARANTINE_NAME).exists()
    rows = trail_records(scene)
    assert [r["seq"] for r in rows] == list(range(1, 17)) and record["seq"] == 16
    assert rows[14]["action"] == records.REPAIRED
    assert rows[14]["detail"]["reasons"] == ["newline-missing"]
    assert rows[14]["detail"]["kept_through_seq"] == 14
    assert verify_file(scene.folder, KEYS).ok


def refused(scene: Scene, match: str) -> None:
    before = (scene.log.read_bytes(), scene.head.read_bytes() if scene.head.exists() else None)
    sink = scene.sink()
    with pytest.raises(AuditError, match=match):
        sink.append(item_fields(40))
    sink.close()
    after = (scene.log.read_bytes(), scene.head.read_bytes() if scene.head.exists() else None)
    assert after == before, "a refused append must leave trail and head untouched"
    assert not (scene.folder / QUARANTINE_NAME).exists()


def torn(scene: Scene) -> None:
    with scene.log.open("ab") as handle:
        handle.write(b'{"action":"item.intent","attempt":1,"bot":"de')


def refusal(folder: Path, case: str, torn_end: bool) -> str | None:
    """What the writer says after ``case`` (and a torn line after it), if it refuses;
    a refusal leaves trail, head and quarantine untouched."""
    scene = build(folder)
    CASES[case](scene)  # type: ignore[misc]
    if torn_end:
        torn(scene)
    files = [scene.log, scene.head, scene.folder / QUARANTINE_NAME]
    before = [path.read_bytes() if path.is_file() else path.exists() for path in files]
    sink = scene.sink()
    try:
        sink.append(item_fields(40))
    except AuditError as error:
        after = [path.read_bytes() if path.is_file() else path.exists() for path in files]
        assert after == before, "a refused append must leave the trail untouched"
        return re.sub(
            r"\d{4}-\d\d-\d\dT[\d:.]+Z", "TIME", str(error).replace(str(folder), "FOLDER")
        )
    finally:
        sink.close()
    return None


REFUSED = [case for case in CASES if case not in ACCEPTED | {"intact", "torn-last-line"}]


@pytest.mark.parametrize("case", REFUSED)
def test_a_torn_end_is_not_mended_when_the_rest_does_not_prove(tmp_path: Path, case: str):
    """Whatever the writer refuses without the torn line, it refuses with it, touching
    nothing, and says why the rest does not prove."""
    without = refusal(tmp_path / "without", case, torn_end=False)
    with_torn = refusal(tmp_path / "with", case, torn_end=True)
    if without is None:
        assert with_torn is None, with_torn
        return
    assert with_torn is not None, "mended a trail whose complete part does not prove"
    assert without in with_torn


def test_a_writer_running_on_meets_a_torn_end_left_by_another(tmp_path: Path):
    scene = build(tmp_path / "audit")
    running = scene.sink()
    running.append(item_fields(20))
    killed_mid_write(scene)
    record = running.append(item_fields(21))
    running.close()
    assert trail_records(scene)[-2]["action"] == records.REPAIRED
    assert record["seq"] == trail_records(scene)[-1]["seq"]
    assert verify_file(scene.folder, KEYS).ok


def test_restart_is_not_turned_into_a_mend(tmp_path: Path):
    """Break-glass restart on a torn trail still records the refusal it ends."""
    scene = build(tmp_path / "audit")
    torn(scene)
    sink = scene.sink()
    report = restart(sink, {"host": TRAIL, "actor": "user:ops"}, "testing")
    sink.close()
    assert "incomplete record" in report.refusal


def _append_some(folder: str, start: int) -> None:
    sink = ChainSink(Path(folder), KEY, checkpoint_every=1000, trail_id=TRAIL)
    for i in range(5):
        sink.append(item_fields(start + i))
    sink.close()


def test_writers_racing_to_a_torn_end_mend_it_once(tmp_path: Path):
    scene = build(tmp_path / "audit")
    killed_mid_write(scene)
    kept = scene.log.read_bytes().count(b"\n")
    context = multiprocessing.get_context("fork")
    writers = [
        context.Process(target=_append_some, args=(str(scene.folder), 100 * n)) for n in range(4)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    rows = trail_records(scene)
    assert [r["seq"] for r in rows] == list(range(1, kept + 22))
    assert [r["seq"] for r in rows if r["action"] == records.REPAIRED] == [kept + 1]
    assert len(list((scene.folder / QUARANTINE_NAME).iterdir())) == 1
    assert verify_file(scene.folder, KEYS).ok
