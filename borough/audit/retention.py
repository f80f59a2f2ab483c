"""Retention purge across the installation: audit records, evidence, run logs, item data."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
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
    # evidence/<run>/ holds screenshots, traces, pages and downloads; downloads/<run>/ is
    # where older versions kept downloaded reports; runs/<run>/ holds desktop app logs
    paths = runtime.paths
    evidence = _remove_folders_older(paths.evidence, stamp)
    _remove_folders_older(paths.data / "downloads", stamp)
    _remove_folders_older(paths.runs, stamp)
    logs = 0
    if paths.runs.exists():
        for log in paths.runs.glob("*.log"):
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


def _remove_folders_older(parent: Path, stamp: float) -> int:
    removed = 0
    if parent.is_dir():
        for folder in parent.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < stamp:
                shutil.rmtree(folder)
                removed += 1
    return removed
