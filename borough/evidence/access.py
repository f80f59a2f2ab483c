"""Opening sealed evidence for a person: only with the keys, only with a purpose, and only
after the view is in the audit trail.

The dashboard (for the roles in ``dashboard.evidence_roles``) and ``borough evidence
show|export`` both come here. The file must be one the trail lists as captured and still
have the hash recorded then; it is decrypted in memory (decryption authenticates it), the
``evidence.viewed`` or ``evidence.exported`` record is written and flushed, and only then
is the content handed back. Every refusal is recorded too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from borough.audit.reading import iter_records
from borough.audit.trail import AuditTrail
from borough.errors import EvidenceError
from borough.evidence.cipher import is_sealed
from borough.evidence.content import TEXT_SUFFIXES

if TYPE_CHECKING:
    from borough.runtime import Runtime

PURPOSE_MIN = 5
PURPOSE_MAX = 300
IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


@dataclass(frozen=True)
class Captured:
    """One file the trail lists as captured: where, its recorded hash, for what."""

    relative: str  #: under ``logs/``: ``evidence/<run>/<item token or run>/<name>``
    sha256: str
    kind: str
    item: str | None
    seq: int

    @property
    def run_id(self) -> str:
        return PurePosixPath(self.relative).parts[1]

    @property
    def name(self) -> str:
        return PurePosixPath(self.relative).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.relative).suffix.lower()

    @property
    def is_image(self) -> bool:
        return self.suffix in IMAGES

    @property
    def is_text(self) -> bool:
        return self.suffix in TEXT_SUFFIXES


@dataclass(frozen=True)
class Opened:
    """Evidence decrypted in memory, after its view was recorded."""

    captured: Captured
    data: bytes
    sealed: bool  #: False for a file stored in clear by a borough before sealing

    @property
    def media_type(self) -> str:
        return IMAGES.get(self.captured.suffix, "application/octet-stream")

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def canonical(relative: str) -> str:
    """``evidence/<run>/<folder>/<name>``, from that or from the part after ``evidence/``;
    anything else (``..``, hidden names, other folders) is refused."""
    text = relative.strip().removeprefix("logs/").removeprefix("evidence/")
    parts = text.split("/")
    if not 2 <= len(parts) <= 3 or not all(_PART.match(p) for p in parts):
        raise EvidenceError(f"{relative!r} is not an evidence file; see `borough evidence list`")
    return "evidence/" + "/".join(parts)


def listed(audit: Path, *, run: str | None = None, item: str | None = None) -> list[Captured]:
    """Every evidence file the trail lists, oldest first (the latest record of a path wins)."""
    found: dict[str, Captured] = {}
    for captured in _captures(iter_records(audit)):
        if run and captured.run_id != run:
            continue
        if item and captured.item != item:
            continue
        found[captured.relative] = captured
    return sorted(found.values(), key=lambda c: c.seq)


def find(audit: Path, relative: str) -> Captured:
    wanted = canonical(relative)
    match = None
    for captured in _captures(iter_records(audit)):
        if captured.relative == wanted:
            match = captured
    if match is None:
        raise EvidenceError(
            f"the audit trail lists no evidence file {wanted}; only captured evidence can be "
            "opened (see `borough evidence list`)"
        )
    return match


def stored_state(logs: Path, captured: Captured) -> str:
    """``intact``, ``missing`` or ``altered``: the stored file against the recorded hash."""
    try:
        data = _stored_path(logs, captured.relative).read_bytes()
    except (EvidenceError, OSError):
        return "missing"
    return "intact" if hashlib.sha256(data).hexdigest() == captured.sha256 else "altered"


def check_purpose(purpose: str, redact: Any) -> str:
    text = " ".join(purpose.split())
    if len(text) < PURPOSE_MIN:
        raise EvidenceError(
            "say why you need to see this evidence (a few words, e.g. 'investigating the "
            "failure of item 12'): the purpose is kept in the audit trail"
        )
    return str(redact(text))[:PURPOSE_MAX]


def open_evidence(
    runtime: Runtime, trail: AuditTrail, relative: str, *, purpose: str, export: bool = False
) -> Opened:
    """Decrypt one captured file for the person behind ``trail`` (its actor).

    Writes ``evidence.viewed`` (or ``evidence.exported``) before returning anything; a
    refusal (not captured, missing, altered, wrong keys) is recorded as
    ``evidence.refused`` and raised as :class:`EvidenceError`.
    """
    action = "evidence.exported" if export else "evidence.viewed"
    why = check_purpose(purpose, runtime.redactor.redact)
    captured: Captured | None = None
    try:
        captured = find(runtime.paths.audit, relative)
        stored = _stored_path(runtime.paths.logs, captured.relative).read_bytes()
        if hashlib.sha256(stored).hexdigest() != captured.sha256:
            raise EvidenceError(
                f"{captured.relative} is not the file captured: its hash differs from the one "
                f"in audit record {captured.seq}"
            )
        sealed = is_sealed(stored)
        data = runtime.evidence_cipher.open(stored, captured.relative) if sealed else stored
    except (EvidenceError, OSError) as exc:
        message = exc.message if isinstance(exc, EvidenceError) else f"cannot read: {exc}"
        trail.emit(
            "evidence.refused",
            outcome="refused",
            item=captured.item if captured else None,
            error=message,
            detail={"path": captured.relative if captured else relative, "purpose": why},
        )
        raise EvidenceError(message) from None
    trail.emit(
        action,
        item=captured.item,
        detail={
            "path": captured.relative,
            "sha256": captured.sha256,
            "kind": captured.kind,
            "run": captured.run_id,
            "purpose": why,
        },
    )
    return Opened(captured, data, sealed)


def _stored_path(logs: Path, relative: str) -> Path:
    root = (logs / "evidence").resolve()
    path = logs.joinpath(*canonical(relative).split("/"))
    if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(root):
        raise EvidenceError(f"{relative} is not there any more (retention may have removed it)")
    return path


def _captures(records: Iterator[dict[str, Any]]) -> Iterator[Captured]:
    for record in records:
        if record.get("action") != "evidence.captured":
            continue
        for entry in record.get("evidence") or []:
            try:
                relative = canonical(str(entry.get("path", "")))
            except EvidenceError:
                continue
            yield Captured(
                relative=relative,
                sha256=str(entry.get("sha256", "")),
                kind=str(entry.get("kind", "")),
                item=record.get("item"),
                seq=int(record.get("seq", 0)),
            )
