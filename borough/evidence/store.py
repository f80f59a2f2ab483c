"""Evidence of failed items (screenshots, traces, page HTML) and the files a run downloads,
sealed at rest and hashed into the audit trail.

Each file is redacted where it can be (text, a trace's text members), then sealed
(:mod:`borough.evidence.cipher`) and written privately; the audit record lists the SHA-256
of the stored, sealed bytes, so anyone can check a file is the one captured without
decrypting it. Only :mod:`borough.evidence.access` opens evidence again, for an authorised
person who gave a purpose, after recording the view.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from borough import filemodes
from borough.audit.redact import Redactor
from borough.audit.trail import AuditTrail
from borough.errors import EvidenceError
from borough.evidence.cipher import FileCipher
from borough.evidence.content import redacted

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: ``<run>/downloads/``: files as the app sent them (sealed, read by the bot in memory)
DOWNLOADS = "downloads"


@dataclass(frozen=True)
class EvidenceFile:
    path: Path
    relative: str  #: under ``logs/``: ``evidence/<run>/<item token>/<name>``
    sha256: str  #: of the stored (sealed) bytes
    kind: str

    def as_audit(self) -> dict[str, str]:
        return {"path": self.relative, "sha256": self.sha256, "kind": self.kind}


@dataclass(frozen=True)
class SealedFile:
    """A file the run downloaded, sealed on disk; read it decrypted, in memory only.

    ``read_table(download, Row)`` reads it like a path; ``name`` is the app's file name.
    """

    stored: EvidenceFile
    name: str
    _cipher: FileCipher

    @property
    def path(self) -> Path:
        return self.stored.path

    @property
    def relative(self) -> str:
        return self.stored.relative

    @property
    def sha256(self) -> str:
        return self.stored.sha256

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix

    def read_bytes(self) -> bytes:
        """The file as the app sent it (checked against the hash recorded when saved)."""
        try:
            sealed = self.path.read_bytes()
        except OSError as exc:
            raise EvidenceError(f"{self.relative} cannot be read: {exc.strerror}") from None
        if hashlib.sha256(sealed).hexdigest() != self.sha256:
            raise EvidenceError(f"{self.relative} changed since it was downloaded")
        return self._cipher.open(sealed, self.relative)

    def open(self) -> IO[bytes]:
        return io.BytesIO(self.read_bytes())

    def __str__(self) -> str:
        return self.relative


class EvidenceStore:
    """Files under ``logs/evidence/<run_id>/<item token>/``, sealed, recorded in the trail."""

    def __init__(
        self, logs_root: Path, run_id: str, redactor: Redactor, cipher: FileCipher
    ) -> None:
        self.logs_root = logs_root
        self.folder = logs_root / "evidence" / run_id
        self._redactor = redactor
        self._cipher = cipher

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
        """Redact, seal and write one piece of evidence; record its hash in the trail."""
        target = self._target(item or "run", name)
        data = redacted(target.suffix.lower(), content, self._redactor.redact)
        return self._write(trail, target, data, kind=kind, item=item, step=step)

    def save_download(self, trail: AuditTrail, name: str, data: bytes) -> SealedFile:
        """Seal a downloaded file as it came (the bot reads it: no redaction)."""
        target = self._target(DOWNLOADS, Path(name).name or "download")
        stored = self._write(trail, target, data, kind="download", item=None, step="download")
        return SealedFile(stored, Path(name).name, self._cipher)

    def _target(self, folder: str, name: str) -> Path:
        """A new file: a second capture of the same name gets ``-2``, ``-3`` ... so the
        trail's hash of the first still names a file that is there."""
        base = filemodes.make_folder(self.folder / folder) / (_SAFE.sub("_", name) or "file")
        target, number = base, 1
        while target.exists():
            number += 1
            target = base.with_name(f"{base.stem}-{number}{base.suffix}")
        return target

    def _write(
        self,
        trail: AuditTrail,
        target: Path,
        data: bytes,
        *,
        kind: str,
        item: str | None,
        step: str | None,
    ) -> EvidenceFile:
        relative = target.relative_to(self.logs_root).as_posix()
        sealed = self._cipher.seal(data, relative)
        filemodes.write_private(target, sealed)
        record = EvidenceFile(target, relative, hashlib.sha256(sealed).hexdigest(), kind)
        trail.emit(
            "evidence.captured",
            item=item,
            step=step,
            detail={"kind": kind, "sealed": True},
            evidence=[record.as_audit()],
        )
        return record


@dataclass(frozen=True)
class DownloadFolder:
    """Where a run's downloads go (``ctx.downloads``): each file sealed as it is saved."""

    store: EvidenceStore
    trail: AuditTrail

    @property
    def path(self) -> Path:
        return self.store.folder / DOWNLOADS

    def save(self, name: str, data: bytes) -> SealedFile:
        return self.store.save_download(self.trail, name, data)
