"""The append path's short cuts keep every promise of the long way round.

* a record is encoded once (:func:`records.chain_line`) and its bytes, hash and MAC are
  exactly what the canonical encoding and :func:`records.record_hash` give, for any value;
* ``emit`` inside this thread's group writes straight to the chain, and the run log still
  gets one line a record, redacted (the record as written), at the group's end;
* ``emit`` from another thread while a group is open waits and goes the ordinary way;
* only the free-text fields are redacted; the ledger anchors a group's last signed record.
"""

from __future__ import annotations

import json
import math
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from borough.audit import records
from borough.audit.chain import ChainSink
from borough.audit.keys import AuditKeys
from borough.audit.redact import Redactor
from borough.audit.trail import AuditTrail
from borough.audit.verify import verify_file
from borough.logconfig import RunLogSink
from tests.support.tamper import KEY, TRAIL, build, item_fields

KEYS = AuditKeys.from_signing_key(KEY)

VALUES: list[Any] = [
    None,
    0,
    -7,
    2**70,
    True,
    False,
    1.5,
    "",
    "plain",
    'quote " backslash \\ slash / tab \t newline \n',
    "caf\u00e9 \u2028 \u0001 \U0001f600",
    ["b", "a", "\u00e9"],
    [1, "x", None],
    {"z": 1, "a": {"nested": ["x", 2.25]}, "é": "accent"},
    [],
    {},
    {"a": 1, "host": "x", "mac": "m", "outcome": "o", "ts": "t"},  # the record's own member texts
    [{"b": 2, "hash": "h", "item": "i"}, ',"host":', ',"outcome":'],
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_record_encoded_once_is_byte_for_byte_the_canonical_line(value: Any):
    record: dict[str, Any] = {
        **item_fields(3),
        "schema": records.SCHEMA,
        "seq": 42,
        "prev_hash": "ab" * 32,
        "detail": {"value": value},
        "error": value if not isinstance(value, dict | list) else None,
        "attempt": value,
    }
    record.pop("hash", None)
    digest, mac, line = records.chain_line(record, KEYS.mac)
    assert digest == records.record_hash(record)
    assert mac == KEYS.mac(digest)
    expected = records.canonical_json({**record, "hash": digest, "mac": mac}) + "\n"
    assert line == expected.encode("utf-8")
    assert json.loads(line) == {**record, "hash": digest, "mac": mac}


@pytest.mark.parametrize(
    "keys",
    [
        ("action", "detail"),  # nothing after hash: both members go at the end
        ("action", "host", "item"),  # nothing after mac
        ("host", "item", "outcome"),  # nothing before hash: encoded whole
        ("action", "outcome", "ts"),  # nothing between hash and mac
        (),
    ],
    ids=repr,
)
def test_records_of_any_shape_are_encoded_canonically(keys: tuple[str, ...]):
    record: dict[str, Any] = {key: {"host": 1, "z": [key]} for key in keys}
    record["prev_hash"] = "cd" * 32
    for nested in (False, True):
        if nested and "detail" in record:
            record["detail"] = {"a": 1, "host": ',"outcome":', "outcome": 2}
        digest, mac, line = records.chain_line(record, KEYS.mac)
        assert digest == records.record_hash(record)
        expected = records.canonical_json({**record, "hash": digest, "mac": mac}) + "\n"
        assert line == expected.encode("utf-8")


def test_record_times_are_now_in_the_record_format():
    before = datetime.now(UTC)
    stamps = [records.utc_now() for _ in range(1000)]
    after = datetime.now(UTC)
    assert stamps == sorted(stamps)
    for stamp in (stamps[0], stamps[-1]):
        assert len(stamp) == 27 and stamp.endswith("Z")
        assert before - timedelta(seconds=1) <= records.parse_ts(stamp) <= after


def test_a_value_json_cannot_hold_is_still_refused_by_the_encoder():
    record = {**item_fields(1), "seq": 1, "prev_hash": "0" * 64, "detail": {"x": math.nan}}
    with pytest.raises(ValueError):
        records.chain_line(record, KEYS.mac)


def _trail(sink: ChainSink) -> AuditTrail:
    return AuditTrail(sink, {"host": TRAIL, "actor": "bot:demo"}).bind(
        run_id="20261101-090000-abcdef", bot="demo"
    )


def test_emit_in_a_group_is_written_once_and_logged_a_line_a_record(tmp_path: Path):
    redactor = Redactor()
    redactor.add_personal("Margaret Thatcher", "name")
    sink = ChainSink(tmp_path / "audit", KEY, redact=redactor.redact)
    runlog = RunLogSink(tmp_path / "logs", redactor)
    handlers = [
        logger.add(sink, filter=lambda r: "audit" in r["extra"], format="{message}"),
        logger.add(runlog, format="{extra[action]} | {message}"),
    ]
    trail = _trail(sink)
    try:
        with trail.group():
            seqs = [
                trail.emit("item.step", item=f"p_{'a' * 19}{i}", step=f"call Margaret Thatcher {i}")
                for i in range(5)
            ]
            assert sink.written == 5, "written at once, each knowing its seq"
            assert not list((tmp_path / "logs" / "runs").glob("*.log")), "logged at the end"
    finally:
        for handler in handlers:
            logger.remove(handler)
    sink.close()
    assert seqs == [1, 2, 3, 4, 5]
    lines = (tmp_path / "audit" / "audit.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line)["step"] for line in lines] == [f"call [name] {i}" for i in range(5)]
    log = (tmp_path / "logs" / "runs" / "20261101-090000-abcdef.log").read_text("utf-8")
    assert "Margaret" not in log and "Thatcher" not in log
    assert log.splitlines() == [
        ("item.step | " if i == 0 else "")
        + f"item.step ok item=p_{'a' * 19}{i} step=call [name] {i}"
        for i in range(5)
    ]
    assert verify_file(tmp_path / "audit", KEYS).ok


def test_emit_from_another_thread_during_a_group_goes_the_ordinary_way(tmp_path: Path):
    sink = ChainSink(tmp_path, KEY)
    handler = logger.add(sink, filter=lambda r: "audit" in r["extra"], format="{message}")
    trail = _trail(sink)
    other: list[int] = []
    try:
        with trail.group():
            trail.emit("item.intent", item=f"p_{'b' * 20}")
            thread = threading.Thread(target=lambda: other.append(trail.emit("run.note")))
            thread.start()
            thread.join(0.3)
            assert thread.is_alive(), "it waits for the group's lock"
        thread.join(10)
    finally:
        logger.remove(handler)
    sink.close()
    assert other == [2]
    assert verify_file(tmp_path, KEYS).ok


def test_emit_outside_a_group_without_the_sink_installed_still_refuses(tmp_path: Path):
    from borough.errors import AuditError

    sink = ChainSink(tmp_path, KEY)
    with pytest.raises(AuditError, match="not installed"):
        _trail(sink).emit("item.done")
    sink.close()


def test_only_free_text_fields_are_redacted(tmp_path: Path):
    redactor = Redactor()
    redactor.add_personal("Casework", "name")
    sink = ChainSink(tmp_path, KEY, redact=redactor.redact)
    fields = {**item_fields(0), "target": "casework", "error": "casework failed"}
    fields |= {"actor": "user:casework", "detail": {"note": ["Casework"]}, "bot": "casework"}
    record = sink.append(fields)
    sink.close()
    assert record["target"] == record["actor"][5:] == "[name]"
    assert record["error"] == "[name] failed"
    assert record["detail"] == {"note": ["[name]"]}
    assert record["bot"] == "casework", "the bot's configured name is borough's own"


def test_a_group_anchors_its_last_signed_record_once(tmp_path: Path):
    scene = build(tmp_path / "audit")
    before = len(scene.anchors.rows)
    sink = scene.sink(checkpoint_every=5)
    with sink.group():
        for i in range(20):
            sink.append(item_fields(i))
    sink.close()
    checkpoints = [
        json.loads(line)["seq"]
        for line in scene.log.read_text("utf-8").splitlines()
        if '"action":"audit.checkpoint"' in line
    ]
    assert len(checkpoints) > 4
    assert [a.seq for a in scene.anchors.rows[before:]] == [checkpoints[-1]]
    assert verify_file(scene.folder, KEYS, anchors=scene.anchors.since_restart(TRAIL)).ok
