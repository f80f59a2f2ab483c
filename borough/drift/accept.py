"""Apply the fixes a person accepted: edit the declarations in apps.yaml, keep a copy first,
check the config still loads, and record who accepted what in the audit trail."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from borough.drift.edit import Edit, apply_edits, restore
from borough.drift.report import Finding
from borough.drift.store import DriftBook
from borough.errors import BoroughError, ConfigError

if TYPE_CHECKING:
    from borough.audit.trail import AuditTrail
    from borough.runtime import Runtime


@dataclass(frozen=True)
class Accepted:
    edits: list[Edit]
    file: Path
    backup: Path


def edits_for(app: str, findings: Sequence[Finding]) -> list[Edit]:
    """The edits that put each finding's proposed locator where it is declared."""
    edits: list[Edit] = []
    for finding in findings:
        proposal = finding.proposal
        if proposal is None or not finding.path:
            raise ConfigError(f"{finding.where}: there is no proposed fix to accept")
        edits.append(Edit(("apps", app, *finding.path), finding.locator, proposal.locator))
        for key_path in finding.renames:
            old = str(key_path[-1])
            edits.append(Edit(("apps", app, *key_path), old, proposal.rename_to, key=True))
    return edits


def accept(
    runtime: Runtime,
    app: str,
    findings: Sequence[Finding],
    trail: AuditTrail,
    *,
    accepted_by: str,
) -> Accepted:
    """Write the proposed fixes of ``findings`` into config/apps.yaml (a copy kept first)."""
    from borough.config.loader import load_config
    from borough.connect import app_settings

    if not accepted_by.strip():
        raise ConfigError("say who accepts the fix (--by NAME)")
    edits = edits_for(app, findings)
    file = runtime.paths.config / "apps.yaml"
    folder = runtime.paths.data / "drift"
    before = _digest(file)
    backup = apply_edits(file, edits, folder / "backups", folder / "apps.yaml.lock")
    try:
        config = load_config(runtime.paths)
        app_settings(app, config.app(app))
    except BoroughError as exc:
        restore(file, backup, folder / "apps.yaml.lock")
        raise ConfigError(
            f"the fix would make config/apps.yaml invalid, so it was not kept: {exc}"
        ) from None
    described = [edit.describe() for edit in edits]
    trail.emit(
        "app.drift_accepted",
        target=app,
        detail={
            "accepted_by": accepted_by,
            "edits": described,
            "file": str(file.relative_to(runtime.paths.home))
            if file.is_relative_to(runtime.paths.home)
            else file.name,
            "backup": backup.name,
            "sha256_before": before,
            "sha256_after": _digest(file),
        },
    )
    summary = f"{len(findings)} fix(es) accepted by {accepted_by}"
    DriftBook(runtime.ledger.engine).record_accepted(
        app,
        actor=str(trail.context.get("actor", "")),
        summary=summary,
        edits=[{"change": d} for d in described],
    )
    return Accepted(edits, file, backup)


def _digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()
