"""The audit record format (versioned) and its hash chain rule."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

SCHEMA = "borough.audit/1"
GENESIS_HASH = "0" * 64

#: Fields every record has, in the order they are written.
FIELDS = (
    "schema",
    "seq",
    "ts",
    "host",
    "run_id",
    "bot",
    "bot_version",
    "item",
    "attempt",
    "step",
    "action",
    "target",
    "actor",
    "outcome",
    "error",
    "data_categories",
    "subjects",
    "detail",
    "evidence",
    "signature",
    "prev_hash",
    "hash",
)

#: Fields whose values are ours (hashes, tokens, times, run ids) and are never redacted.
#: A run id's random suffix can look like a postcode ("…-b863ed" reads as B86 3ED).
UNREDACTED = frozenset(
    {
        "schema",
        "seq",
        "ts",
        "run_id",
        "item",
        "subjects",
        "prev_hash",
        "hash",
        "signature",
        "evidence",
    }
)

CHECKPOINT = "audit.checkpoint"
PURGE = "audit.purge"
SIGNED_ACTIONS = frozenset({CHECKPOINT, PURGE})


def canonical_json(data: Any) -> str:
    """One byte-exact serialisation per value: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(record: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical_json(record without hash))``."""
    body = {key: value for key, value in record.items() if key != "hash"}
    text = str(record.get("prev_hash", "")) + canonical_json(body)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def signed_payload(record: dict[str, Any]) -> bytes:
    """What a checkpoint or purge record's signature covers: its place in the chain."""
    payload = {
        "schema": record.get("schema"),
        "seq": record.get("seq"),
        "ts": record.get("ts"),
        "action": record.get("action"),
        "prev_hash": record.get("prev_hash"),
        "detail": record.get("detail"),
    }
    return canonical_json(payload).encode("utf-8")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def ordered(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its fields in the documented order (for readable files)."""
    return {key: record.get(key) for key in FIELDS if key in record or key != "signature"}
