"""Finding a run's ``run.end`` by reading the trail backwards (the reaper's question)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from borough.audit import lookup

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def write(path: Path, records: list[dict], tail: str = "") -> Path:
    lines = []
    for seq, record in enumerate(records, start=1):
        ts = (T0 + timedelta(seconds=seq)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines.append(json.dumps({"seq": seq, "ts": ts, "detail": None, **record}))
    path.write_text("\n".join(lines) + "\n" + tail, encoding="utf-8")
    return path


def test_the_end_and_its_checkpoint_are_found_across_other_runs_records(tmp_path: Path):
    noise = [{"run_id": "other", "action": "item.done", "pad": "x" * 500}] * 300
    log = write(
        tmp_path / "audit.jsonl",
        [
            {"run_id": "r1", "action": "run.start"},
            *noise,
            {
                "run_id": "r1",
                "action": "run.end",
                "outcome": "succeeded",
                "detail": {"counts": {"done": 5, "ingested": 5}},
            },
            {"run_id": "other", "action": "item.done"},
            {"run_id": "r1", "action": "audit.checkpoint"},
        ],
        tail='{"seq": 999, "torn',
    )
    found = lookup.find_run_end(log, "r1", since=T0)
    assert found is not None
    assert (found.outcome, found.counts, found.seq) == (
        "succeeded",
        {"done": 5, "ingested": 5},
        304,
    )


def test_a_run_that_did_anything_after_its_end_or_never_ended_has_none(tmp_path: Path):
    log = write(
        tmp_path / "audit.jsonl",
        [
            {"run_id": "r1", "action": "run.start"},
            {"run_id": "r1", "action": "item.done"},
            {"run_id": "r2", "action": "run.start"},
            {"run_id": "r2", "action": "run.end", "outcome": "failed"},
            {"run_id": "r2", "action": "run.reaped", "outcome": "crashed"},
        ],
    )
    assert lookup.find_run_end(log, "r1") is None
    assert lookup.find_run_end(log, "r2") is None
    assert lookup.find_run_end(tmp_path / "missing.jsonl", "r1") is None


def test_the_search_stops_at_records_older_than_the_run(tmp_path: Path):
    log = write(
        tmp_path / "audit.jsonl",
        [{"run_id": "r1", "action": "run.end", "outcome": "succeeded"}]
        + [{"run_id": "x", "action": "item.done"}] * 1000,
    )
    assert lookup.find_run_end(log, "r1", since=T0 + timedelta(hours=1)) is None
    assert lookup.find_run_end(log, "r1", since=T0) is not None
