"""Retention purge across the installation: audit records, evidence, run logs, item data."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from borough.audit.purge import PurgeResult, purge_before

if TYPE_CHECKING:
    from borough.runtime import Runtime


@dataclass(frozen=True)
class RetentionReport:
    audit: PurgeResult
    evidence_folders: int
    run_logs: int
    item_payloads: int


def purge_older_than(runtime: Runtime, cutoff: datetime) -> RetentionReport:
    """Remove what is older than ``cutoff``; the audit chain stays verifiable."""
    cutoff = cutoff.astimezone(UTC)
    cutoff_ts = cutoff.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    audit = purge_before(runtime.sink, cutoff_ts, dict(runtime.trail.context))
    stamp = cutoff.timestamp()
    evidence = 0
    if runtime.paths.evidence.exists():
        for folder in runtime.paths.evidence.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < stamp:
                shutil.rmtree(folder)
                evidence += 1
    logs = 0
    if runtime.paths.runs.exists():
        for log in runtime.paths.runs.glob("*.log"):
            if log.stat().st_mtime < stamp:
                log.unlink()
                logs += 1
    payloads = runtime.ledger.items.scrub_payloads(before=cutoff)
    runtime.trail.emit(
        "retention.purged",
        detail={
            "cutoff": cutoff_ts,
            "audit_records": audit.purged_records,
            "evidence_folders": evidence,
            "run_logs": logs,
            "item_payloads": payloads,
        },
    )
    return RetentionReport(audit, evidence, logs, payloads)
