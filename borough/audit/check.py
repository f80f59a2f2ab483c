"""Verifying an installation's trails with everything it has: this machine's trail with the
key from the secret store (MACs and signatures), the other machines' trails it can read
with their registered public keys, the ledger's anchors and run ends, the index, and
anchors an auditor kept elsewhere. Used by ``borough audit verify``, the dashboard and the
demo. Verification is incremental (see :mod:`borough.audit.verified`) unless ``full``.

:func:`verify_estate_signed` is the same without the secret store (no passphrase, no Argon2
unlock): when this machine's trail ends at its signed head, the head's Ed25519 signature
proves every record up to it with the public key registered for this machine in the ledger.
It gives way (returns None) whenever that is not enough: records after the head (only their
MACs prove them), or any problem at all, which the keyed verification then names exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from borough.audit import records
from borough.audit.anchors import Anchor
from borough.audit.keys import AuditKeys
from borough.audit.verify import Verdict, check_run_ends
from borough.audit.verifytrail import TrailCheck, verify_trail
from borough.host import host_name

if TYPE_CHECKING:
    from borough.config.loader import Config
    from borough.config.paths import Paths
    from borough.ledger import Ledger
    from borough.runtime import Runtime

RUN_ENDS_CHECKED = 1000  #: the latest runs whose recorded last audit record is checked
NOT_REMEMBERED = (
    "the verified point was not saved (signing it needs the installation's key; a verify "
    "that unlocks the secret store, e.g. `borough audit verify --full`, saves it)"
)


class Installation(Protocol):
    """What verifying needs of an opened installation: a :class:`Runtime` or a read-only
    :class:`borough.view.LedgerView`."""

    @property
    def config(self) -> Config: ...

    @property
    def paths(self) -> Paths: ...

    @property
    def ledger(self) -> Ledger: ...


def verify_installation(
    runtime: Runtime, *, external: Sequence[Anchor] = (), full: bool = False
) -> Verdict:
    """The full verdict on this machine's trail (see the module docstring)."""
    keys = AuditKeys.from_signing_key(runtime.keys.signing_key)
    return _verify(
        runtime, host_name(), runtime.paths.audit, keys, signer=keys, external=external, full=full
    )


def verify_estate(
    runtime: Runtime, *, external: Sequence[Anchor] = (), full: bool = False
) -> tuple[list[Verdict], list[str]]:
    """This machine's trail, then every other registered writer's that can be read here;
    the notes say which writers' trails could not be reached."""
    own = verify_installation(runtime, external=external, full=full)
    signer = AuditKeys.from_signing_key(runtime.keys.signing_key)
    others, notes = _other_trails(runtime, signer, full)
    return [own, *others], notes


def verify_estate_signed(
    site: Installation, *, external: Sequence[Anchor] = ()
) -> tuple[list[Verdict], list[str]] | None:
    """:func:`verify_estate` (incremental) without the secret store, or None when this
    machine's trail needs the installation's key (see the module docstring). The verified
    point is read (its signature checks with the public key) but not saved: saving signs it."""
    trail = host_name()
    writer = site.ledger.audit_writers.get(trail)
    if writer is None:
        return None
    keys = AuditKeys.public_only(_public_key(writer.public_key))
    own = _verify(site, trail, site.paths.audit, keys, signer=keys, external=external, full=False)
    if not own.ok:
        return None
    own.registered_key = True
    others, notes = _other_trails(site, keys, False)
    return [own, *others], notes


def _other_trails(
    site: Installation, signer: AuditKeys, full: bool
) -> tuple[list[Verdict], list[str]]:
    from borough.audit.browse import trail_folders

    own = host_name()
    verdicts, notes = [], []
    folders = trail_folders(site)
    for writer in site.ledger.audit_writers.all():
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
        keys = AuditKeys.public_only(_public_key(writer.public_key))
        verdicts.append(_verify(site, writer.trail, folder, keys, signer=signer, full=full))
    return verdicts, notes


def _public_key(pem: str) -> Ed25519PublicKey:
    key = load_pem_public_key(pem.encode("ascii"))
    assert isinstance(key, Ed25519PublicKey)
    return key


def _verify(
    site: Installation,
    trail: str,
    folder: Path,
    keys: AuditKeys,
    *,
    signer: AuditKeys,
    external: Sequence[Anchor] = (),
    full: bool,
) -> Verdict:
    ledger = site.ledger
    anchors = ledger.anchors.since_restart(trail)
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
    if verdict.ok and not signer.can_sign:
        verdict.details.append(NOT_REMEMBERED)
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
