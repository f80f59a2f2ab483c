"""Ingest: every item a bot reads is recorded in the ledger before any item is worked."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from borough.audit.records import canonical_json
from borough.bot import Bot, Item
from borough.collector import young_collections_fewer
from borough.ledger import Ingested, ItemRecord, ItemState, NewItem, RunCounts

if TYPE_CHECKING:
    from borough.audit.trail import AuditTrail
    from borough.observe import RunObserver
    from borough.runtime import Runtime

BATCH = 5000  #: rows per ledger transaction (one group of audit records, one fsync)


def describe(runtime: Runtime, bot: type[Bot[Any]], item: Item[Any]) -> NewItem:
    """The ledger's view of an item: key as token, personal values as subject tokens.

    Each value is tokenised once (the token also labels it for redaction), and the row is
    encoded once: its digest text, extended by the source, is the JSON that gets sealed.
    """
    payload = item.payload()
    personal = item.personal_values(bot.personal, payload=payload)
    token = runtime.tokenizer.token
    add_personal = runtime.redactor.add_personal
    subjects = []
    categories = set()
    for value, category in personal:
        subject = token(value)
        add_personal(value, category, token=subject)
        subjects.append(subject)
        categories.add(category)
    text = _CANONICAL.encode({"data": payload, "key": item.key})
    return NewItem(
        key_token=token(item.key),
        key=item.key,
        data=payload,
        source=item.source,
        subjects=subjects,
        data_categories=sorted(categories),
        invalid_reason=runtime.redactor.redact(item.invalid) if item.invalid else None,
        digest=runtime.tokenizer.digest(text),
        # the same object with "source" (sorted last) added: canonical JSON of all three
        sealed_json=f"{text[:-1]},{_SOURCE}{_json_text(item.source)}}}",
    )


_SOURCE = '"source":'
#: ``canonical_json``'s encoder, made once (``json.dumps`` with options makes one a call)
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _json_text(value: object) -> str:
    """``canonical_json(value)``, cheaper for the usual text."""
    return encode_basestring(value) if type(value) is str else canonical_json(value)


def ingest_items(
    runtime: Runtime,
    bot: type[Bot[Any]],
    items: Iterable[Item[Any]],
    *,
    run_id: str,
    trail: AuditTrail,
    counts: RunCounts,
    observer: RunObserver,
) -> None:
    """Record items in batches; rows read before an input error stay recorded.

    Each batch is inserted, the records of its new rows written and made durable together
    (one group: one fsync, one signed head), then committed: no item is ever in the ledger
    without its ``item.ingested`` record.
    """

    def record(batch: list[tuple[NewItem, ItemRecord, Ingested]]) -> None:
        fields = [
            trail.fields(
                "item.ingested" if outcome is Ingested.NEW else "item.corrected",
                outcome="failed" if stored.state is ItemState.FAILED else "pending",
                item=stored.key_token,
                error=stored.error,
                data_categories=new.data_categories,
                subjects=new.subjects,
                detail={"source": stored.source, "ledger_id": stored.id},
            )
            for new, stored, outcome in batch
            if outcome is not Ingested.KNOWN
        ]
        known = len(batch) - len(fields)
        trail.emit_many(
            fields,
            summary=f"item.ingested {len(fields)} items"
            + (f" ({known} already recorded)" if known else ""),
        )

    with young_collections_fewer():
        for batch in _batches(items):
            described = [describe(runtime, bot, item) for item in batch]
            recorded = runtime.ledger.items.ingest(bot.name, run_id, described, audit=record)
            for stored, outcome in recorded:
                if outcome is Ingested.KNOWN:
                    if stored.state is ItemState.DONE:
                        counts.already_done += 1
                    observer.on_known(stored)
                    continue
                counts.ingested += 1
                if stored.state is ItemState.FAILED:
                    counts.failed += 1
                observer.on_ingested(stored)


def _batches(items: Iterable[Item[Any]]) -> Iterator[list[Item[Any]]]:
    """Items in lists of ``BATCH``; when reading fails, the items read so far come first."""
    batch: list[Item[Any]] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) == BATCH:
                yield batch
                batch = []
    except Exception:
        if batch:
            yield batch
        raise
    if batch:
        yield batch
