"""The audit record format (versioned), its hash chain rule and its strict line parser.

``borough.audit/2`` adds ``mac``: an HMAC of the record's hash under a key derived from
the signing key, kept outside the hash, so that records written after the last signed
head can be proven to be the installation's own (a writer that stopped before re-signing)
rather than forged. ``borough.audit/1`` records are still read and verified.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SCHEMA_V1 = "borough.audit/1"
SCHEMA = "borough.audit/2"
SCHEMAS = (SCHEMA_V1, SCHEMA)
GENESIS_HASH = "0" * 64

#: Fields every record has, in the order they are documented.
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

#: Fields outside the hash: the hash itself and the MAC over it.
UNHASHED = frozenset({"hash", "mac"})

_REQUIRED_V1 = frozenset(FIELDS) - {"signature"}
#: Keys each schema's records carry: ``required`` always, ``signature`` on signed actions.
KEYS = {
    SCHEMA_V1: _REQUIRED_V1,
    SCHEMA: _REQUIRED_V1 | {"mac"},
}

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
        "mac",
        "signature",
        "evidence",
    }
)

#: The only fields that can carry personal data, so the only ones the writer redacts: text
#: a bot or a connector supplies (a step's name and target, an error, the detail) and who
#: acted (an operator's sign-in name). The rest are borough's own codes and names (host,
#: bot, version, action, outcome, category labels, attempt) or tokens, hashes and times.
REDACTED = frozenset({"step", "target", "error", "detail", "actor"})

CHECKPOINT = "audit.checkpoint"
PURGE = "audit.purge"
REPAIRED = "audit.repaired"
RESTARTED = "audit.restarted"
SIGNED_ACTIONS = frozenset({CHECKPOINT, PURGE, REPAIRED, RESTARTED})


class MalformedRecord(ValueError):
    """A line that is not exactly one audit record in canonical form."""


class UnknownSchema(MalformedRecord):
    """A record claims a format this borough does not read."""


def canonical_json(data: Any) -> str:
    """One byte-exact serialisation per value: sorted keys, no spaces, UTF-8 kept, no NaN."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


_encode_str = json.encoder.encode_basestring  # what canonical_json does with a str


def _c_encoder() -> Callable[[Any, int], Any]:
    """The C encoder :func:`canonical_json` uses, made once (``json.dumps`` with these
    options builds an encoder object and the C encoder at every call)."""
    return json.encoder.c_make_encoder(  # type: ignore[attr-defined,no-any-return]
        None,  # no shared markers (thread-safe): a circular value is a RecursionError
        _refuse,
        _encode_str,
        None,
        ":",
        ",",
        True,  # sort_keys
        False,  # skipkeys
        False,  # allow_nan: NaN and Infinity are refused (ValueError)
    )


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_C_ENCODE = _c_encoder() if json.encoder.c_make_encoder else None  # type: ignore[attr-defined]


def _encode_body(record: dict[str, Any]) -> str:
    """``canonical_json(record)``, byte for byte (the same C encoder when there is one)."""
    if _C_ENCODE is None:
        return canonical_json(record)
    return "".join(_C_ENCODE(record, 0))


def chain_line(record: dict[str, Any], mac: Callable[[str], str]) -> tuple[str, str, bytes]:
    """(hash, MAC, the line) of ``record`` (without ``hash`` and ``mac``), encoded once.

    Byte for byte what ``canonical_json`` of the record with its :func:`record_hash` and
    ``mac(hash)`` gives, and that hash: the hashed body is encoded once, and the ``hash``
    and ``mac`` members are put into it at their sorted places, before the member of the
    key that follows each. That member is found by its text (``,"host":``), which is the
    record's own when it occurs once; a value holding the same text (a nested object with
    such a key) has the line encoded again whole.
    """
    names = tuple(record)
    layout = _LAYOUTS.get(names)
    if layout is None:
        layout = _LAYOUTS[names] = _layout(names)
    body = _encode_body(record)
    digest = hashlib.sha256((str(record.get("prev_hash", "")) + body).encode("utf-8")).hexdigest()
    code = mac(digest)
    if layout is not None:
        after_hash, after_mac = layout
        end = len(body) - 1  # the closing brace
        at_hash = body.find(after_hash) if after_hash else end
        at_mac = body.find(after_mac) if after_mac else end
        if (not after_hash or body.count(after_hash) == 1) and (
            not after_mac or body.count(after_mac) == 1
        ):
            line = (
                body[:at_hash]
                + ',"hash":"'
                + digest
                + '"'
                + body[at_hash:at_mac]
                + ',"mac":'
                + _encode_str(code)
                + body[at_mac:end]
                + "}\n"
            )
            return digest, code, line.encode("utf-8")
    full = canonical_json({**record, "hash": digest, "mac": code}) + "\n"
    return digest, code, full.encode("utf-8")


_LAYOUTS: dict[tuple[str, ...], tuple[str, str] | None] = {}


def _layout(names: tuple[str, ...]) -> tuple[str, str] | None:
    """For records with these keys: the text of the member ``hash`` goes before (the first
    key after it, ``,"host":``; empty: at the end), the same for ``mac``; None when no key
    comes before ``hash`` (the line is then encoded whole)."""
    order = sorted(name for name in names if name not in UNHASHED)
    if not order or order[0] > "hash":
        return None
    later = [name for name in order if name > "hash"]
    after_mac = [name for name in order if name > "mac"]
    first = "," + _encode_str(later[0]) + ":" if later else ""
    second = "," + _encode_str(after_mac[0]) + ":" if after_mac else ""
    return first, second


def record_hash(record: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical_json(record without hash and mac))``."""
    body = {key: value for key, value in record.items() if key not in UNHASHED}
    text = str(record.get("prev_hash", "")) + canonical_json(body)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def signed_payload(record: dict[str, Any]) -> bytes:
    """What a signed record's signature covers: its place in the chain and its detail."""
    payload = {
        "schema": record.get("schema"),
        "seq": record.get("seq"),
        "ts": record.get("ts"),
        "action": record.get("action"),
        "prev_hash": record.get("prev_hash"),
        "detail": record.get("detail"),
    }
    return canonical_json(payload).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedRecord(f"the key {key!r} appears twice")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise MalformedRecord(f"{name} is not a JSON number")


def strict_loads(text: str) -> Any:
    """``json.loads`` refusing duplicate keys and NaN/Infinity (first-wins readers differ)."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise MalformedRecord(exc.msg + f" at column {exc.colno}") from None


def parse_line(raw: bytes) -> dict[str, Any]:
    """One trail line (with or without its newline) → the record, or :class:`MalformedRecord`.

    The line must be exactly the canonical JSON of a record of a known schema, with the
    schema's keys and an integer ``seq``; a record re-serialised or edited by hand is not.
    """
    try:
        text = raw.decode("utf-8").removesuffix("\n")
    except UnicodeDecodeError as exc:
        raise MalformedRecord(f"not UTF-8 at byte {exc.start}") from None
    record = strict_loads(text)
    if not isinstance(record, dict) or type(record.get("seq")) is not int:
        raise MalformedRecord("not an audit record (no integer seq)")
    schema = record.get("schema")
    if schema not in KEYS:
        raise UnknownSchema(str(schema))
    keys = set(record)
    missing = KEYS[schema] - keys
    extra = keys - KEYS[schema] - {"signature"}
    if missing or extra:
        which = f"lacks {sorted(missing)}" if missing else f"has unknown keys {sorted(extra)}"
        raise MalformedRecord(f"the record {which}")
    if canonical_json(record) != text:
        raise MalformedRecord(
            "not in canonical form (key order, spacing or escapes differ from how borough "
            "writes records): it was re-serialised or edited"
        )
    return record


def log_text(fields: dict[str, Any]) -> str:
    """A record's line in the run log and on the console."""
    parts = [str(fields["action"]), str(fields["outcome"])]
    if fields.get("item"):
        parts.append(f"item={fields['item']}")
    if fields.get("step"):
        parts.append(f"step={fields['step']}")
    if fields.get("error"):
        parts.append(f"error={fields['error']}")
    return " ".join(parts)


#: (a UTC second, its text): one strftime a second (read and replaced whole: thread-safe)
_CLOCK: list[tuple[int, str]] = [(-1, "")]


def utc_now() -> str:
    """Now in the record format (``2026-12-05T04:20:57.123456Z``)."""
    second, nanos = divmod(time.time_ns(), 1_000_000_000)
    clock = _CLOCK[0]
    if clock[0] != second:
        clock = _CLOCK[0] = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{clock[1]}.{nanos // 1000:06d}Z"


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def ordered(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its fields in the documented order (for readable files)."""
    return {key: record.get(key) for key in FIELDS if key in record or key != "signature"}


@dataclass(frozen=True, slots=True)
class Quick:
    """What verification needs of a record line whose bytes hash to its ``hash`` field."""

    seq: int
    hash: str
    prev_hash: str
    schema: str
    mac: str | None
    ts: str


_HASH = b',"hash":"'
_MAC = b',"mac":"'
_PREV = b',"prev_hash":"'
_SCHEMA = b',"schema":"'
_SEQ = b',"seq":'
_TS = b',"ts":"'
_SCHEMA_BYTES = {s.encode(): s for s in SCHEMAS}


def quick(raw: bytes) -> Quick | None:
    """The chain fields of an ordinary record line whose bytes match its hash, else None.

    Keys are sorted, and every key after ``hash`` holds a string, a number or a list of
    strings, so the last occurrence of each of those keys is the record's own. The hash
    covers the line without its ``hash`` and ``mac`` members, byte for byte: when it
    matches, these bytes are the ones that were hashed (and, once a MAC, a signature or the
    head vouches for that hash, the writer's canonical line). Signed actions, lines that do
    not match and anything unusual return None: the strict :func:`parse_line` decides those.
    """
    if not raw.endswith(b'"}\n') or raw.startswith(b'{"action":"audit.'):
        return None
    h = raw.rfind(_HASH)
    if h < 0 or raw[h + 73 : h + 75] != b'",':
        return None
    m = raw.find(_MAC, h + 75)
    p = raw.find(_PREV, h + 75)
    s = raw.find(_SCHEMA, p + 80)
    q = raw.find(_SEQ, s + 11)
    t = raw.find(_TS, q + 7)
    if p < 0 or s < 0 or q < 0 or t < 0:
        return None
    end = raw.find(b'"', s + 11)
    schema = _SCHEMA_BYTES.get(raw[s + 11 : end])
    if schema is None:
        return None
    if schema == SCHEMA:
        if not 0 < m < p or raw[m + 40 : m + 42] != b'",':
            return None
        mac: str | None = raw[m + 8 : m + 40].decode("ascii", "replace")
        body = raw[:h] + raw[h + 74 : m] + raw[m + 41 : -1]
    else:
        if m >= 0:
            return None
        mac = None
        body = raw[:h] + raw[h + 74 : -1]
    prev = raw[p + 14 : p + 78]
    digest = raw[h + 9 : h + 73]
    if raw[p + 78 : p + 80] != b'",':
        return None
    if hashlib.sha256(prev + body).hexdigest().encode("ascii") != digest:
        return None
    comma = raw.find(b",", q + 7)
    number = raw[q + 7 : comma]
    if not number.isdigit():
        return None
    return Quick(
        int(number),
        digest.decode("ascii"),
        prev.decode("ascii"),
        schema,
        mac,
        raw[t + 7 : -3].decode("utf-8", "replace"),
    )
