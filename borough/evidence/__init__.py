"""Evidence: files captured when items fail, and the files runs download, sealed at rest.

``store`` writes them (redacted where possible, sealed, hashed into the trail), ``cipher``
seals and opens, ``content`` redacts text and traces, ``access`` opens them for a person
with a purpose after recording the view.
"""

from __future__ import annotations

from borough.evidence.cipher import FileCipher
from borough.evidence.store import (
    DOWNLOADS,
    DownloadFolder,
    EvidenceFile,
    EvidenceStore,
    SealedFile,
)

__all__ = [
    "DOWNLOADS",
    "DownloadFolder",
    "EvidenceFile",
    "EvidenceStore",
    "FileCipher",
    "SealedFile",
]
