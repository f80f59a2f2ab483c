"""``audit.head``: the signed (seq, hash) of the last record the writer vouches for.

Written after every append (temp file + atomic rename, mode 0600). Version 2 heads carry
``schema`` inside what is signed; version 1 heads (no ``schema``) are still read.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from borough.audit import records
from borough.audit.keys import AuditKeys

HEAD_SCHEMA = "borough.audit.head/2"


class Point(NamedTuple):
    """A place in the chain: a record's seq and hash (seq 0 = before the first record; a
    named tuple: the writer makes one a record)."""

    seq: int
    hash: str


GENESIS = Point(0, records.GENESIS_HASH)


class HeadUnreadable(ValueError):
    """The head file exists but is not a head (damaged, emptied, or not ours)."""


@dataclass(frozen=True)
class SignedHead:
    seq: int
    hash: str
    ts: str
    signature: str
    schema: str | None = HEAD_SCHEMA

    @property
    def point(self) -> Point:
        return Point(self.seq, self.hash)

    def payload(self) -> bytes:
        body: dict[str, Any] = {"seq": self.seq, "hash": self.hash, "ts": self.ts}
        if self.schema is not None:
            body["schema"] = self.schema
        return records.canonical_json(body).encode("utf-8")

    def signature_ok(self, keys: AuditKeys) -> bool:
        return keys.signature_ok(self.signature, self.payload())

    def to_json(self) -> str:
        body: dict[str, Any] = {"seq": self.seq, "hash": self.hash, "ts": self.ts}
        if self.schema is not None:
            body["schema"] = self.schema
        body["signature"] = self.signature
        return json.dumps(body) + "\n"


def parse_head(text: str) -> SignedHead:
    try:
        data = records.strict_loads(text)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        schema = data.get("schema")
        if schema not in (None, HEAD_SCHEMA):
            raise ValueError(f"unknown head schema {schema!r}")
        seq, digest, ts, signature = data["seq"], data["hash"], data["ts"], data["signature"]
        if type(seq) is not int or not all(isinstance(v, str) for v in (digest, ts, signature)):
            raise ValueError("wrong field types")
        return SignedHead(seq, digest, ts, signature, schema)
    except (ValueError, KeyError) as exc:
        raise HeadUnreadable(str(exc)) from None


def read_head(path: Path) -> SignedHead | None:
    """The head, None if there is no head file, :class:`HeadUnreadable` if it is damaged."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return parse_head(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise HeadUnreadable("not UTF-8") from None


def write_head(path: Path, point: Point, keys: AuditKeys) -> SignedHead:
    """Sign ``point`` and replace the head file atomically (private to the owner)."""
    head = SignedHead(point.seq, point.hash, records.utc_now(), "")
    head = SignedHead(head.seq, head.hash, head.ts, keys.sign(head.payload()))
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        data = head.to_json().encode("utf-8")
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(errno.ENOSPC, "short write of the audit head (no space left?)")
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return head


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
