"""Ingest in batches: one group of audit records (one fsync) per batch, written before the
batch commits; a batch whose records cannot be made durable leaves nothing in the ledger."""

from __future__ import annotations

import errno
import gc
import os
from pathlib import Path

import pytest

from borough import collector, ingest
from borough.audit import chain as chain_module
from borough.audit.records import canonical_json
from borough.bot import Item
from borough.errors import InputError
from borough.ledger import RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import runtime_in
from tests.support import bots
from tests.support.installs import counting_home, people
from tests.support.reliability import audit_records

ROWS = 2 * ingest.BATCH + 37


def _ingested(home: Path) -> list[dict]:
    return [r for r in audit_records(home) if r["action"] == "item.ingested"]


def test_each_batch_is_one_fsync_and_every_row_has_its_record(tmp_path: Path, monkeypatch):
    home = counting_home(tmp_path, people(ROWS), settings={})
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(chain_module.os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd)))
    monkeypatch.setattr("tests.support.bots.CountingBot.process", lambda self, ctx, item: None)
    with runtime_in(home) as runtime:
        before = len(fsyncs)
        run = run_bot(runtime, RunRequest("counting-bot", limit=0))
        ledger_items = sum(runtime.ledger.items.count_by_state(bot="counting-bot").values())
    assert run.counts.ingested == ROWS == ledger_items
    records = _ingested(home)
    assert len(records) == ROWS and len({r["item"] for r in records}) == ROWS
    # run.start, three batches of ingest records, then the run's end: not one fsync a row
    assert len(fsyncs) - before < 3 + 10, len(fsyncs) - before


def test_a_batch_whose_records_cannot_be_made_durable_is_not_committed(tmp_path: Path, monkeypatch):
    home = counting_home(tmp_path, people(ROWS), settings={})
    groups = {"done": 0}
    real_commit = chain_module.ChainSink._commit_group

    def failing_second(self, group, pending):  # type: ignore[no-untyped-def]
        if any(record.get("action") == "item.ingested" for record, _ in pending):
            groups["done"] += 1
            if groups["done"] == 2:
                monkeypatch.setattr(
                    chain_module.os,
                    "fsync",
                    lambda fd: (_ for _ in ()).throw(OSError(errno.EIO, "I/O error")),
                )
        try:
            return real_commit(self, group, pending)
        finally:
            monkeypatch.setattr(chain_module.os, "fsync", os.fsync)

    monkeypatch.setattr(chain_module.ChainSink, "_commit_group", failing_second)
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot", limit=0))
        in_ledger = sum(runtime.ledger.items.count_by_state(bot="counting-bot").values())
    assert run.status is not RunStatus.SUCCEEDED
    assert in_ledger == ingest.BATCH, "the second batch rolled back with its records"
    assert len(_ingested(home)) == ingest.BATCH, "and its records were cut from the trail"


def test_ingest_collects_young_objects_less_often_and_restores_the_collector(
    tmp_path: Path, monkeypatch
):
    """Python's collector walks a live batch less often during ingest; afterwards (also
    after an input error) it is set as it was found."""
    home = counting_home(tmp_path, people(ingest.BATCH + 3), settings={})
    seen: list[tuple[int, int, int]] = []
    real_items = bots.CountingBot.items

    def reading(self, ctx):  # type: ignore[no-untyped-def]
        for number, item in enumerate(real_items(self, ctx)):
            seen.append(gc.get_threshold())
            if number == ingest.BATCH + 1:
                raise InputError("people.csv: row 503 cannot be read")
            yield item

    before = gc.get_threshold()
    gc.set_threshold(900, 11, 12)
    try:
        with runtime_in(home) as runtime:
            run_bot(runtime, RunRequest("counting-bot", limit=0))
            assert gc.get_threshold() == (900, 11, 12)
            monkeypatch.setattr(bots.CountingBot, "items", reading)
            run = run_bot(runtime, RunRequest("counting-bot", limit=0))
        assert run.status is not RunStatus.SUCCEEDED
        assert gc.get_threshold() == (900, 11, 12)
        assert seen and all(t == (collector.INGEST_YOUNG_THRESHOLD, 11, 12) for t in seen)
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("source", ['people.csv row 2 "Zoë"', None])
def test_a_described_row_is_encoded_once_for_its_digest_and_its_sealed_payload(
    tmp_path: Path, source: str | None
):
    home = counting_home(tmp_path, people(1), settings={})
    person = bots.Person.model_validate({"Ref": "R1", "Name": "Zoë £5", "Amount": 5})
    item = Item(key="R1", data=person, source=source)
    with runtime_in(home) as runtime:
        described = ingest.describe(runtime, bots.CountingBot, item)
        data = person.model_dump(mode="json")
        digest = runtime.tokenizer.digest(canonical_json({"key": "R1", "data": data}))
        [(stored, _)] = runtime.ledger.items.ingest("counting-bot", "run-1", [described])
        unsealed = runtime.ledger.items.get(stored.id, unseal=True)
    assert described.digest == digest
    assert described.sealed_json == canonical_json({"key": "R1", "data": data, "source": source})
    assert (unsealed.key, unsealed.data) == ("R1", data)
    assert described.subjects == [runtime.tokenizer.token("Zoë £5")]
