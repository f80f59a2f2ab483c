"""Verifying an installation's trail with everything it has: the key from the secret store
(MACs and signatures), the ledger's anchors, the ledger's run ends, and anchors an auditor
kept elsewhere. Used by ``borough audit verify``, the dashboard and the demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from borough.audit import records
from borough.audit.anchors import Anchor
from borough.audit.keys import AuditKeys
from borough.audit.verify import Verdict, check_run_ends, verify_file
from borough.host import host_name

if TYPE_CHECKING:
    from borough.runtime import Runtime

RUN_ENDS_CHECKED = 1000  #: the latest runs whose recorded last audit record is checked


def verify_installation(runtime: Runtime, *, external: Sequence[Anchor] = ()) -> Verdict:
    """The full verdict on this machine's trail (see the module docstring)."""
    trail = host_name()
    anchors = runtime.ledger.anchors.since_restart(trail)
    keys = AuditKeys.from_signing_key(runtime.keys.signing_key)
    verdict = verify_file(runtime.paths.audit, keys, anchors=anchors, external=external)
    restarted = anchors[0].ts if anchors and anchors[0].kind == "restart" else None
    since = records.parse_ts(restarted) if restarted else None
    ends = [
        (run.id, run.audit_seq_end)
        for run in runtime.ledger.runs.list(limit=RUN_ENDS_CHECKED)
        if run.audit_seq_end
        and run.host == trail
        and (since is None or (run.ended_at is not None and run.ended_at > since))
    ]
    return check_run_ends(verdict, ends)
