"""Evidence in clear for tests: decrypted with the installation's keys, without recording
a view (tests look at what was captured; people go through ``borough evidence``)."""

from __future__ import annotations

from pathlib import Path

from borough.testing import runtime_in


def clear_evidence(home: Path) -> dict[Path, bytes]:
    """Every sealed file under ``logs/evidence`` of ``home``, decrypted, by its path."""
    with runtime_in(home) as runtime:
        logs = runtime.paths.logs
        return {
            path: runtime.evidence_cipher.open(path.read_bytes(), path.relative_to(logs).as_posix())
            for path in sorted((logs / "evidence").rglob("*"))
            if path.is_file()
        }
