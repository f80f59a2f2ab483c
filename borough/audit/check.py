"""Verifying an installation's trails with everything it has: this machine's trail with the
key from the secret store (MACs and signatures), the other machines' trails it can read
with their registered public keys, the ledger's anchors and run ends, the index, and
anchors an auditor kept elsewhere. Used by ``borough audit verify``, the dashboard and the
demo. Verification is incremental (see :mod:`borough.audit.verified`) unless ``full``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from borough.audit import records
from borough.audit.anchors import Anchor
from borough.audit.keys import AuditKeys
from borough.audit.verify import Verdict, check_run_ends
from borough.audit.verifytrail import TrailCheck, verify_trail
from borough.host import host_name

if TYPE_CHECKING:
    from borough.runtime import Runtime

RUN_ENDS_CHECKED = 1000  #: the latest runs whose recorded last audit record is checked


def verify_installation(
    runtime: Runtime, *, external: Sequence[Anchor] = (), full: bool = False
) -> Verdict:
    """The full verdict on this machine's trail (see the module docstring)."""
    trail = host_name()
    keys = AuditKeys.from_signing_key(runtime.keys.signing_key)
    return _verify(runtime, trail, runtime.paths.audit, keys, external=external, full=full)


def verify_estate(
    runtime: Runtime, *, external: Sequence[Anchor] = (), full: bool = False
) -> tuple[list[Verdict], list[str]]:
    """This machine's trail, then every other registered writer's that can be read here;
    the notes say which writers' trails could not be reached."""
    from borough.audit.browse import trail_folders

    own = host_name()
    verdicts = [verify_installation(runtime, external=external, full=full)]
    notes = []
    folders = trail_folders(runtime)
    for writer in runtime.ledger.audit_writers.all():
        if writer.trail == own:
            continue
        folder = folders.folder(writer.trail)
        if folder is None or not folder.is_dir():
            notes.append(
                f"the trail of {writer.trail} is not readable from here: set "
                f"audit.trails.{writer.trail} in borough.yaml to its folder, or verify an export "
                f"shipped from it (`borough audit verify FILE`)"
            )
            continue
        key = load_pem_public_key(writer.public_key.encode("ascii"))
        assert isinstance(key, Ed25519PublicKey)
        verdicts.append(
            _verify(runtime, writer.trail, folder, AuditKeys.public_only(key), full=full)
        )
    return verdicts, notes


def _verify(
    runtime: Runtime,
    trail: str,
    folder: Path,
    keys: AuditKeys,
    *,
    external: Sequence[Anchor] = (),
    full: bool,
) -> Verdict:
    ledger = runtime.ledger
    anchors = ledger.anchors.since_restart(trail)
    signer = AuditKeys.from_signing_key(runtime.keys.signing_key)
    verdict = verify_trail(
        TrailCheck(
            folder,
            trail,
            keys,
            anchors=anchors,
            external=external,
            index=ledger.audit_index,
            states=ledger.audit_verified,
            signer=signer,
            verifier=host_name(),
            full=full,
        )
    )
    restarted = anchors[0].ts if anchors and anchors[0].kind == "restart" else None
    since = records.parse_ts(restarted) if restarted else None
    ends = [
        (run.id, run.audit_seq_end)
        for run in ledger.runs.list(limit=RUN_ENDS_CHECKED)
        if run.audit_seq_end
        and run.host == trail
        and (since is None or (run.ended_at is not None and run.ended_at > since))
    ]
    return check_run_ends(verdict, ends)
