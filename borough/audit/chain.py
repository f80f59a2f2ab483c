"""The hash-chain writer: a loguru sink appending audit records to ``audit.jsonl``.

Several processes (a scheduler's runs, an operator's CLI) append to one chain: each append
takes an exclusive ``flock``, reads the chain head if another process moved it, writes the
record, ``fsync``s it and then replaces the signed head file. A record is durable before
the logging call returns, so the audit of an intended change precedes the change.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from borough.audit import records
from borough.errors import AuditError

LOG_NAME = "audit.jsonl"
HEAD_NAME = "audit.head"
PUBLIC_KEY_NAME = "audit.pub"


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


def sign(key: Ed25519PrivateKey, payload: bytes) -> str:
    return base64.b64encode(key.sign(payload)).decode("ascii")


def read_last_record(handle: Any) -> dict[str, Any] | None:
    """The last complete JSON line of an open binary file, read from the end."""
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    if end == 0:
        return None
    block = 4096
    data = b""
    pos = end
    while pos > 0:
        step = min(block, pos)
        pos -= step
        handle.seek(pos)
        data = handle.read(step) + data
        lines = data.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or pos == 0:
            last = lines[-1]
            try:
                parsed: dict[str, Any] = json.loads(last)
            except json.JSONDecodeError as exc:
                raise AuditError(
                    f"the last line of the audit trail is damaged ({exc.msg}); run "
                    "`borough audit verify` before writing more"
                ) from None
            return parsed
    return None


class ChainSink:
    """Duck-typed loguru sink: ``logger.add(sink, filter=is_audit, catch=False)``.

    Only messages bound with ``audit={...}`` belong here; the fields become the record.
    """

    def __init__(
        self,
        folder: Path,
        signing_key: Ed25519PrivateKey,
        *,
        checkpoint_every: int = 200,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.folder = folder
        self.path = folder / LOG_NAME
        self.head_path = folder / HEAD_NAME
        self._key = signing_key
        self._checkpoint_every = checkpoint_every
        self._redact = redact
        self._lock = threading.Lock()
        self._known_size = -1
        self._head = Head(0, records.GENESIS_HASH)
        self.written = 0
        self.last_seq = 0
        folder.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+b")  # noqa: SIM115 - held for the sink's life
        self._write_public_key()

    # loguru calls write(message) with the formatted message; the fields are in extra.
    def write(self, message: Any) -> None:
        fields = message.record["extra"].get("audit")
        if fields is None:
            return
        self.append(dict(fields))

    def append(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Write one record (and a checkpoint when one is due); returns the record."""
        with self._lock:
            self._lock_current_file()
            try:
                self._refresh_head()
                record = self._write(fields)
                self.last_seq = record["seq"]
                due = (self._head.seq + 1) % self._checkpoint_every == 0
                if due and record.get("action") not in records.SIGNED_ACTIONS:
                    self._write(checkpoint_fields(fields, reason="every-n"))
                self._write_head()
                return record
            finally:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        self._file.close()

    def _lock_current_file(self) -> None:
        """Lock the live log file, reopening it if a retention purge replaced it."""
        while True:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
            try:
                current = os.stat(self.path).st_ino
            except FileNotFoundError:
                current = -1
            if current == os.fstat(self._file.fileno()).st_ino:
                return
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = open(self.path, "a+b")  # noqa: SIM115
            self._known_size = -1

    def _refresh_head(self) -> None:
        size = os.fstat(self._file.fileno()).st_size
        if size == self._known_size:
            return
        last = read_last_record(self._file)
        if last is None:
            self._head = Head(0, records.GENESIS_HASH)
        else:
            self._head = Head(int(last["seq"]), str(last["hash"]))
        self._known_size = size

    def _write(self, fields: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {k: fields.get(k) for k in records.FIELDS if k != "hash"}
        for key, value in record.items():
            if key not in records.UNREDACTED:
                record[key] = self._redact_value(value)
        record["schema"] = records.SCHEMA
        record["seq"] = self._head.seq + 1
        record["ts"] = fields.get("ts") or records.utc_now()
        record["prev_hash"] = self._head.hash
        if record.get("action") in records.SIGNED_ACTIONS:
            record["signature"] = sign(self._key, records.signed_payload(record))
        else:
            record.pop("signature", None)
        record["hash"] = records.record_hash(record)
        line = (records.canonical_json(record) + "\n").encode("utf-8")
        self._file.seek(0, os.SEEK_END)
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._known_size = os.fstat(self._file.fileno()).st_size
        self._head = Head(record["seq"], record["hash"])
        self.written += 1
        return record

    def _redact_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, dict):
            return {key: self._redact_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._redact_value(item) for item in value]
        return value

    def _write_head(self) -> None:
        head = {"seq": self._head.seq, "hash": self._head.hash, "ts": records.utc_now()}
        head["signature"] = sign(self._key, records.canonical_json(head).encode("utf-8"))
        tmp = self.head_path.with_suffix(".head.tmp")
        tmp.write_text(json.dumps(head) + "\n", encoding="utf-8")
        os.replace(tmp, self.head_path)

    def _write_public_key(self) -> None:
        from cryptography.hazmat.primitives import serialization

        pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        target = self.folder / PUBLIC_KEY_NAME
        if not target.exists() or target.read_bytes() != pem:
            target.write_bytes(pem)


def checkpoint_fields(context: dict[str, Any], *, reason: str) -> dict[str, Any]:
    """Fields of a signed checkpoint carrying the run context of ``context``."""
    return {
        "host": context.get("host"),
        "run_id": context.get("run_id"),
        "bot": context.get("bot"),
        "bot_version": context.get("bot_version"),
        "actor": "borough",
        "action": records.CHECKPOINT,
        "outcome": "ok",
        "detail": {"reason": reason},
    }


def is_audit_record(record: Any) -> bool:
    """loguru filter for :class:`ChainSink`."""
    return "audit" in record["extra"]


@dataclass(frozen=True)
class PurgeResult:
    purged_records: int
    purged_through_seq: int | None
    kept_records: int


def purge_before(sink: ChainSink, cutoff_ts: str, context: dict[str, Any]) -> PurgeResult:
    """Retention: sign the head, record a signed purge, then drop records older than cutoff.

    The remaining chain starts at the first kept record; the purge record names the last
    purged record's seq and hash, so ``audit verify`` can still prove nothing else changed.
    """
    with sink._lock:
        sink._lock_current_file()
        try:
            sink._refresh_head()
            sink._file.seek(0)
            last_old: dict[str, Any] | None = None
            purged = 0
            for raw in sink._file:
                if not raw.strip():
                    continue
                record = json.loads(raw)
                if record["ts"] >= cutoff_ts:
                    break
                last_old = record
                purged += 1
            if last_old is None:
                return PurgeResult(0, None, sink._head.seq)
            sink._write(checkpoint_fields(context, reason="before retention purge"))
            sink._write(
                {
                    **checkpoint_fields(context, reason="retention purge"),
                    "action": records.PURGE,
                    "detail": {
                        "cutoff": cutoff_ts,
                        "purged_records": purged,
                        "purged_through_seq": last_old["seq"],
                        "purged_through_hash": last_old["hash"],
                    },
                }
            )
            kept = _rewrite_from(sink, last_old["seq"] + 1)
            sink._write_head()
            return PurgeResult(purged, int(last_old["seq"]), kept)
        finally:
            fcntl.flock(sink._file.fileno(), fcntl.LOCK_UN)


def _rewrite_from(sink: ChainSink, first_seq: int) -> int:
    """Replace the log by its records from ``first_seq`` on (atomic rename), reopen it."""
    tmp = sink.path.with_suffix(".jsonl.tmp")
    kept = 0
    sink._file.seek(0)
    with open(tmp, "wb") as out:
        for raw in sink._file:
            if raw.strip() and json.loads(raw)["seq"] >= first_seq:
                out.write(raw)
                kept += 1
        out.flush()
        os.fsync(out.fileno())
    old = sink._file
    os.replace(tmp, sink.path)
    sink._file = open(sink.path, "a+b")  # noqa: SIM115
    fcntl.flock(sink._file.fileno(), fcntl.LOCK_EX)
    fcntl.flock(old.fileno(), fcntl.LOCK_UN)
    old.close()
    sink._known_size = -1
    sink._refresh_head()
    return kept
