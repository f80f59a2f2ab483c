"""Anchors: signed (seq, hash) points of the trail kept where its writer cannot rewrite them.

The signed head lives beside the trail, so whoever can write the trail can also put back
an old head with an old, shorter trail. Anchors close that gap: at every signed checkpoint
the writer also records the point in the ledger database (a table the trail's writer only
ever appends to), operators can send them off the machine (``borough audit anchor``,
periodic notices from the scheduler), and ``audit verify`` holds the trail against every
anchor it is given: shorter than an anchor is *truncated*, a different hash is *modified*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from borough.audit import records
from borough.audit.keys import AuditKeys
from borough.errors import AuditError

ANCHOR_SCHEMA = "borough.anchor/1"
AnchorKind = Literal["checkpoint", "restart", "external"]
_SEQ_HASH = re.compile(r"^\s*(\d+)\s*:\s*([0-9a-f]{64})\s*$")


@dataclass(frozen=True)
class Anchor:
    """A point of one writer's trail (``trail`` = its host name), signed by its key."""

    trail: str
    seq: int
    hash: str
    ts: str
    kind: AnchorKind = "checkpoint"
    signature: str | None = None

    def payload(self) -> bytes:
        body = {
            "anchor": ANCHOR_SCHEMA,
            "trail": self.trail,
            "seq": self.seq,
            "hash": self.hash,
            "ts": self.ts,
            "kind": self.kind,
        }
        return records.canonical_json(body).encode("utf-8")

    def signed(self, keys: AuditKeys) -> Anchor:
        return replace(self, signature=keys.sign(self.payload()))

    def signature_ok(self, keys: AuditKeys) -> bool:
        return keys.signature_ok(self.signature, self.payload())

    def to_line(self) -> str:
        """One JSON line an auditor keeps (``audit verify --anchors FILE`` reads it back)."""
        body: dict[str, Any] = records.strict_loads(self.payload().decode("utf-8"))
        body["signature"] = self.signature
        return records.canonical_json(body)

    def describe(self) -> str:
        return f"record {self.seq} ({self.hash[:12]}…, {self.ts})"


@runtime_checkable
class AnchorStore(Protocol):
    """Where a writer keeps anchors: the ledger database (``borough.ledger.anchors``)."""

    def latest(self, trail: str) -> Anchor | None: ...

    def since_restart(self, trail: str) -> list[Anchor]: ...

    def record(self, anchor: Anchor) -> None: ...


def parse_anchor(text: str, *, source: str = "--anchor") -> Anchor:
    """``SEQ:HASH`` or a JSON line printed by ``borough audit anchor``."""
    match = _SEQ_HASH.match(text)
    if match:
        return Anchor("", int(match.group(1)), match.group(2), "", "external")
    try:
        data = records.strict_loads(text)
        if not isinstance(data, dict) or data.get("anchor") != ANCHOR_SCHEMA:
            raise ValueError("not a borough anchor")
        seq, digest, kind = data["seq"], data["hash"], data.get("kind")
        if type(seq) is not int or not isinstance(digest, str):
            raise ValueError("seq must be a number and hash a string")
        if kind not in ("checkpoint", "restart"):
            raise ValueError(f"unknown anchor kind {kind!r}")
        return Anchor(
            str(data.get("trail") or ""),
            seq,
            digest,
            str(data.get("ts") or ""),
            kind,
            data.get("signature"),
        )
    except (ValueError, KeyError) as exc:
        raise AuditError(
            f"{source}: cannot read {text.strip()[:80]!r} as an anchor ({exc}); give SEQ:HASH "
            "(e.g. 4182:4e0c…, 64 hex characters) or a line printed by `borough audit anchor`"
        ) from None


def read_anchor_file(path: Path) -> list[Anchor]:
    """Anchors kept by an auditor: one per line; blank lines and ``#`` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(f"cannot read the anchors file {path}: {exc}") from None
    found: list[Anchor] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            found.append(parse_anchor(line, source=f"{path}:{number}"))
    return found
