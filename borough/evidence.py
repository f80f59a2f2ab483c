"""Evidence of failed items (screenshots, traces, page HTML), stored with the run and hashed
into the audit trail so an auditor can prove a file is the one captured."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from borough import filemodes
from borough.audit.redact import Redactor
from borough.audit.trail import AuditTrail

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: ``<run>/downloads/``: files as the app sent them (in clear), never served by the dashboard
DOWNLOADS = "downloads"
_TEXT_SUFFIXES = frozenset({".html", ".htm", ".txt", ".json", ".csv", ".xml", ".log"})


@dataclass(frozen=True)
class EvidenceFile:
    path: Path
    relative: str
    sha256: str
    kind: str

    def as_audit(self) -> dict[str, str]:
        return {"path": self.relative, "sha256": self.sha256, "kind": self.kind}


class EvidenceStore:
    """Files under ``logs/evidence/<run_id>/<item token>/``; text is redacted before saving."""

    def __init__(self, logs_root: Path, run_id: str, redactor: Redactor) -> None:
        self.logs_root = logs_root
        self.folder = logs_root / "evidence" / run_id
        self._redactor = redactor

    @property
    def downloads(self) -> Path:
        """Files the run downloads (reports of names and NI numbers, in clear): private,
        purged with the run's other evidence (``borough audit purge``), and not served to
        dashboard users as evidence is."""
        return filemodes.make_folder(self.folder / DOWNLOADS)

    def save(
        self,
        trail: AuditTrail,
        name: str,
        content: bytes | str,
        *,
        kind: str,
        item: str | None = None,
        step: str | None = None,
    ) -> EvidenceFile:
        """Write one piece of evidence and record its hash in the audit trail."""
        folder = filemodes.make_folder(self.folder / (item or "run"))
        target = folder / _SAFE.sub("_", name)
        if isinstance(content, str) or target.suffix.lower() in _TEXT_SUFFIXES:
            text = content if isinstance(content, str) else content.decode("utf-8", "replace")
            data = self._redactor.redact(text).encode("utf-8")
        else:
            data = content
        filemodes.write_private(target, data)
        digest = hashlib.sha256(data).hexdigest()
        record = EvidenceFile(target, target.relative_to(self.logs_root).as_posix(), digest, kind)
        trail.emit(
            "evidence.captured",
            item=item,
            step=step,
            detail={"kind": kind},
            evidence=[record.as_audit()],
        )
        return record
