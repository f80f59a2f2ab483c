"""Where borough finds its config and writes its state, with environment overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """The folders one borough installation uses.

    ``home`` holds ``config/``; ``logs`` holds audit trail, run logs and evidence; ``data``
    holds state (ledger, schedule store, encrypted secrets).
    """

    home: Path
    config: Path
    logs: Path
    data: Path

    @property
    def audit(self) -> Path:
        return self.logs / "audit"

    @property
    def runs(self) -> Path:
        return self.logs / "runs"

    @property
    def evidence(self) -> Path:
        return self.logs / "evidence"

    def ensure(self) -> None:
        """Create the folders, private (0700); an older installation's are tightened."""
        from borough.filemodes import tighten_folders

        tighten_folders((self.logs, self.data, self.audit, self.runs, self.evidence))


def resolve_paths(
    env: Mapping[str, str] | None = None,
    *,
    logs: str | None = None,
    data: str | None = None,
) -> Paths:
    """Resolve folders: environment first, then ``borough.yaml`` values, then defaults.

    ``BOROUGH_HOME`` (default: the current directory), ``BOROUGH_CONFIG_DIR``,
    ``BOROUGH_LOGS_DIR``, ``BOROUGH_DATA_DIR``. Relative paths are taken from home.
    """
    env = os.environ if env is None else env
    home = Path(env.get("BOROUGH_HOME") or Path.cwd()).resolve()

    def pick(var: str, configured: str | None, default: str) -> Path:
        raw = env.get(var) or configured or default
        path = Path(raw).expanduser()
        return path if path.is_absolute() else home / path

    return Paths(
        home=home,
        config=pick("BOROUGH_CONFIG_DIR", None, "config"),
        logs=pick("BOROUGH_LOGS_DIR", logs, "logs"),
        data=pick("BOROUGH_DATA_DIR", data, "var"),
    )
