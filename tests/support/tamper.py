"""Tamper cases against the audit trail: what an adversary (or a bad day) does to the files.

Each case gets a :class:`Scene`: a trail of 11 records written by the real writer with
checkpoints every 5 (13 lines, signed checkpoints at 5 and 10, anchors for both in an
in-memory ledger), snapshots of trail and head after every append, the ledger's run end,
and a list of anchors an auditor kept elsewhere. A case changes the scene; the test then
verifies it with the installation's key and with the public key alone and compares both
verdicts with the golden file ``tests/golden/audit/<case>.txt``.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from borough.audit import records
from borough.audit.anchors import Anchor, parse_anchor
from borough.audit.chain import ChainSink
from borough.audit.head import HEAD_SCHEMA
from borough.audit.purge import purge_before
from borough.audit.repair import repair, restart
from borough.errors import AuditError
from borough.testing import MemoryAnchors

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
TRAIL = "runner-1"
RUN = "20261101-090000-abcdef"
RECORDS = 11  # checkpoints land at seq 5 and 10 (every 5): 13 lines in all


@dataclass
class Scene:
    folder: Path
    anchors: MemoryAnchors = field(default_factory=MemoryAnchors)
    external: list[Anchor] = field(default_factory=list)
    run_ends: list[tuple[str, int]] = field(default_factory=list)
    snapshots: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)
    kept_anchor: str = ""  #: the line `borough audit anchor` printed at the end of the build

    @property
    def log(self) -> Path:
        return self.folder / "audit.jsonl"

    @property
    def head(self) -> Path:
        return self.folder / "audit.head"

    def sink(self, *, anchors: bool = True, checkpoint_every: int = 5) -> ChainSink:
        return ChainSink(
            self.folder,
            KEY,
            checkpoint_every=checkpoint_every,
            anchors=self.anchors if anchors else None,
            trail_id=TRAIL,
        )


def item_fields(i: int, **extra: object) -> dict[str, object]:
    return {
        "ts": f"2026-11-{1 + i:02d}T09:00:00.000000Z",
        "host": TRAIL,
        "run_id": RUN,
        "bot": "demo",
        "bot_version": "1.0.0",
        "item": f"p_{'a' * 19}{i % 10}",
        "attempt": 1,
        "step": "submit",
        "action": "item.done",
        "target": "casework",
        "actor": "bot:demo",
        "outcome": "done",
        **extra,
    }


def build(folder: Path) -> Scene:
    scene = Scene(folder)
    sink = scene.sink()
    for i in range(RECORDS):
        sink.append(item_fields(i))
        scene.snapshots[sink.end.seq] = (scene.log.read_bytes(), scene.head.read_bytes())
    assert sink.last_anchor is not None
    scene.kept_anchor = sink.last_anchor.to_line()
    sink.close()
    scene.run_ends = [(RUN, 13)]
    return scene


# -- helpers an attacker would write ---------------------------------------------------------
def lines(scene: Scene) -> list[str]:
    return scene.log.read_text("utf-8").splitlines(keepends=True)


def write(scene: Scene, new_lines: list[str]) -> None:
    scene.log.write_text("".join(new_lines), "utf-8")


def parsed(scene: Scene) -> list[dict]:
    return [json.loads(line) for line in lines(scene)]


def dump(rows: list[dict]) -> list[str]:
    return [records.canonical_json(row) + "\n" for row in rows]


def rehash_from(rows: list[dict], start: int) -> list[dict]:
    """What a careful attacker does: recompute every hash from ``start`` onwards."""
    for index in range(start, len(rows)):
        if index > 0:
            rows[index]["prev_hash"] = rows[index - 1]["hash"]
        rows[index]["hash"] = records.record_hash(rows[index])
    return rows


def forged_record(previous: dict, action: str, i: int) -> dict:
    """A record with a correct hash and link; the MAC is made up (the attacker has no key)."""
    record = {
        **{k: v for k, v in previous.items() if k not in ("signature",)},
        **item_fields(20 + i, action=action, outcome=action.split(".")[1]),
        "schema": records.SCHEMA,
        "seq": previous["seq"] + 1,
        "prev_hash": previous["hash"],
        "detail": {"reference": f"FORGED-{i}"},
    }
    record["hash"] = records.record_hash(record)
    record["mac"] = "f" * 32
    return record


def sign_head_with(key: Ed25519PrivateKey, seq: int, digest: str) -> str:
    body = {"seq": seq, "hash": digest, "ts": "2026-11-30T09:00:00.000000Z", "schema": HEAD_SCHEMA}
    signature = base64.b64encode(key.sign(records.canonical_json(body).encode())).decode()
    return json.dumps({**body, "signature": signature}) + "\n"


# -- the cases --------------------------------------------------------------------------------
def edit(scene: Scene) -> None:
    rows = lines(scene)
    rows[6] = rows[6].replace('"outcome":"done"', '"outcome":"failed"')
    write(scene, rows)


def edit_and_rehash_one(scene: Scene) -> None:
    rows = parsed(scene)
    rows[6]["outcome"] = "failed"
    rows[6]["hash"] = records.record_hash(rows[6])
    write(scene, dump(rows))


def rewrite_chain(scene: Scene) -> None:
    rows = parsed(scene)
    rows[6]["outcome"] = "failed"
    write(scene, dump(rehash_from(rows, 6)))


def delete(scene: Scene) -> None:
    rows = lines(scene)
    del rows[6]
    write(scene, rows)


def insert(scene: Scene) -> None:
    rows = lines(scene)
    rows.insert(7, rows[6].replace('"outcome":"done"', '"outcome":"skipped"'))
    write(scene, rows)


def reorder(scene: Scene) -> None:
    rows = lines(scene)
    rows[6], rows[7] = rows[7], rows[6]
    write(scene, rows)


def truncate(scene: Scene) -> None:
    write(scene, lines(scene)[:-2])


def forge_checkpoint(scene: Scene) -> None:
    rows = parsed(scene)
    assert rows[9]["action"] == records.CHECKPOINT and rows[9]["seq"] == 10
    rows[6]["outcome"] = "failed"
    rows = rehash_from(rows, 6)
    forged = OTHER_KEY.sign(records.signed_payload(rows[9]))
    rows[9]["signature"] = base64.b64encode(forged).decode()
    write(scene, dump(rehash_from(rows, 9)))


def forge_head(scene: Scene) -> None:
    head = json.loads(scene.head.read_text())
    head["seq"] = head["seq"] + 5
    scene.head.write_text(json.dumps(head))


def delete_head(scene: Scene) -> None:
    scene.head.unlink()


def delete_start(scene: Scene) -> None:
    write(scene, lines(scene)[3:])


def unknown_schema(scene: Scene) -> None:
    rows = lines(scene)
    rows[2] = rows[2].replace(records.SCHEMA, "borough.audit/9")
    write(scene, rows)


def garbage_line(scene: Scene) -> None:
    rows = lines(scene)
    rows[4] = rows[4][: len(rows[4]) // 2] + "\n"
    write(scene, rows)


def legitimate_purge(scene: Scene) -> None:
    sink = scene.sink()
    result = purge_before(sink, "2026-11-05T00:00:00.000000Z", {"host": TRAIL})
    sink.close()
    assert result.purged_records == 4


def forge_after_head(count: int) -> Callable[[Scene], None]:
    def tamper(scene: Scene) -> None:
        rows = parsed(scene)
        for i in range(count):
            action = "item.done" if i % 2 == 0 else "item.resolved"
            rows.append(forged_record(rows[-1], action, i))
        write(scene, dump(rows))

    return tamper


def forge_then_real_write(scene: Scene) -> None:
    forge_after_head(3)(scene)
    sink = scene.sink()
    with pytest.raises(AuditError, match=r"record 14, after the last signed record 13, was not"):
        sink.append(item_fields(30))
    sink.close()


def forge_v1_after_head(scene: Scene) -> None:
    rows = parsed(scene)
    forged = forged_record(rows[-1], "item.done", 0)
    del forged["mac"]
    forged["schema"] = records.SCHEMA_V1
    forged["hash"] = records.record_hash(forged)
    write(scene, dump([*rows, forged]))


def rollback_with_old_head(scene: Scene) -> None:
    """Keep a copy of audit.head at record 7; later cut the trail there and put it back."""
    _, old_head = scene.snapshots[7]
    write(scene, lines(scene)[:7])
    scene.head.write_bytes(old_head)


def delete_and_start_new_chain(scene: Scene) -> None:
    """Delete trail and head; borough refuses a new chain; an old writer makes one anyway."""
    scene.log.unlink()
    scene.head.unlink()
    sink = scene.sink()
    with pytest.raises(AuditError, match="the ledger holds a signed anchor for record 10"):
        sink.append(item_fields(0))
    sink.close()
    old_writer = scene.sink(anchors=False)
    for i in range(15):
        old_writer.append(item_fields(i, outcome="failed"))
    old_writer.close()


def restore_backup_null_seq_end(scene: Scene) -> None:
    log, head = scene.snapshots[7]
    scene.log.write_bytes(log)
    scene.head.write_bytes(head)
    scene.run_ends = [(RUN, None)]  # type: ignore[list-item]


def anchors_deleted_external_kept(scene: Scene) -> None:
    restore_backup_null_seq_end(scene)
    scene.anchors.rows.clear()
    scene.external = [parse_anchor(scene.kept_anchor)]


def duplicate_key(scene: Scene) -> None:
    rows = lines(scene)
    rows[6] = '{"outcome":"failed",' + rows[6][1:]
    write(scene, rows)


def non_canonical(scene: Scene) -> None:
    rows = lines(scene)
    rows[6] = json.dumps(json.loads(rows[6]), sort_keys=True, ensure_ascii=False) + "\n"
    write(scene, rows)


def nan_value(scene: Scene) -> None:
    rows = lines(scene)
    rows[6] = rows[6].replace('"attempt":1', '"attempt":NaN')
    write(scene, rows)


def blank_line(scene: Scene) -> None:
    rows = lines(scene)
    rows.insert(6, "\n")
    write(scene, rows)


def torn_last_line(scene: Scene) -> None:
    data = scene.log.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1
    scene.log.write_bytes(data[: last + (len(data) - last) // 2])


def head_from_other_installation(scene: Scene) -> None:
    head = json.loads(scene.head.read_text())
    scene.head.write_text(sign_head_with(OTHER_KEY, head["seq"], head["hash"]))


def swap_public_key(scene: Scene) -> None:
    """Replace audit.pub by the attacker's key, edit record 7 and re-sign everything with it."""
    pem = OTHER_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (scene.folder / "audit.pub").write_bytes(pem)
    rows = parsed(scene)
    rows[6]["outcome"] = "failed"
    for index, row in enumerate(rows):
        if index > 0:
            row["prev_hash"] = rows[index - 1]["hash"]
        if row["action"] in records.SIGNED_ACTIONS:
            row["signature"] = base64.b64encode(
                OTHER_KEY.sign(records.signed_payload(row))
            ).decode()
        row["hash"] = records.record_hash(row)
    write(scene, dump(rows))
    scene.head.write_text(sign_head_with(OTHER_KEY, rows[-1]["seq"], rows[-1]["hash"]))


def alter_ledger_anchor(scene: Scene) -> None:
    """Move the ledger's anchor for record 10 onto another hash (to hide or frame)."""
    row = scene.anchors.rows[-1]
    scene.anchors.rows[-1] = Anchor(row.trail, row.seq, "0" * 64, row.ts, row.kind, row.signature)


def edit_mac_only(scene: Scene) -> None:
    rows = parsed(scene)
    rows[6]["mac"] = "0" * 32
    write(scene, dump(rows))


def crash_before_head(scene: Scene) -> None:
    """A writer appended record 14 and died before re-signing the head (not tampering)."""
    head = scene.head.read_bytes()
    sink = scene.sink(checkpoint_every=1000)
    sink.append(item_fields(12))
    sink.close()
    scene.head.write_bytes(head)


def upgraded_from_v1(scene: Scene) -> None:
    """A trail written by borough.audit/1 (no MACs, v1 head), continued by this writer."""
    rows = parsed(scene)
    for index, row in enumerate(rows):
        row["schema"] = records.SCHEMA_V1
        del row["mac"]
        if index:
            row["prev_hash"] = rows[index - 1]["hash"]
        if row["action"] in records.SIGNED_ACTIONS:
            row["signature"] = base64.b64encode(KEY.sign(records.signed_payload(row))).decode()
        row["hash"] = records.record_hash(row)
    write(scene, dump(rows))
    body = {"seq": rows[-1]["seq"], "hash": rows[-1]["hash"], "ts": "2026-11-12T09:00:00.000000Z"}
    signature = base64.b64encode(KEY.sign(records.canonical_json(body).encode())).decode()
    scene.head.write_text(json.dumps({**body, "signature": signature}))
    scene.anchors.rows.clear()  # a v1 ledger has no anchors
    sink = scene.sink()
    for i in range(3):
        sink.append(item_fields(20 + i))
    sink.close()
    scene.run_ends = [(RUN, 13)]


def repaired_after_torn_write(scene: Scene) -> None:
    """An operator ran `borough audit repair` on a torn end before any writer came."""
    with scene.log.open("ab") as handle:
        handle.write(b'{"action":"item.intent","attempt":1,"bot":"de')
    sink = scene.sink()
    report = repair(sink, {"host": TRAIL, "actor": "user:ops"})
    assert report.reasons == ["torn"] and report.removed_bytes == 45
    sink.append(item_fields(31))
    sink.close()


def mended_by_next_writer(scene: Scene) -> None:
    """The next writer found the torn end and moved it aside itself (as repair does)."""
    with scene.log.open("ab") as handle:
        handle.write(b'{"action":"item.intent","attempt":1,"bot":"de')
    sink = scene.sink()
    assert sink.append(item_fields(31))["seq"] == 15  # 14: its signed audit.repaired
    sink.close()


def restarted_after_loss(scene: Scene) -> None:
    scene.log.unlink()
    scene.head.unlink()
    sink = scene.sink()
    restart(sink, {"host": TRAIL, "actor": "user:ops"}, "disk replaced; trail lost")
    sink.append(item_fields(1))
    sink.close()
    scene.run_ends = []


CASES: dict[str, Callable[[Scene], None] | None] = {
    # what verify accepts
    "intact": None,
    "purged-by-retention": legitimate_purge,
    "crash-before-head": crash_before_head,
    "upgraded-from-v1": upgraded_from_v1,
    "repaired-after-torn-write": repaired_after_torn_write,
    "mended-by-next-writer": mended_by_next_writer,
    "restarted-after-loss": restarted_after_loss,
    # tampering and damage
    "edited": edit,
    "edited-record-rehashed": edit_and_rehash_one,
    "chain-rewritten": rewrite_chain,
    "deleted": delete,
    "inserted": insert,
    "reordered": reorder,
    "truncated": truncate,
    "forged-checkpoint": forge_checkpoint,
    "forged-head": forge_head,
    "head-deleted": delete_head,
    "deleted-from-start": delete_start,
    "unknown-schema": unknown_schema,
    "damaged-line": garbage_line,
    "forged-1-after-head": forge_after_head(1),
    "forged-50-after-head": forge_after_head(50),
    "forged-then-real-write": forge_then_real_write,
    "forged-v1-record-after-head": forge_v1_after_head,
    "rollback-with-old-head": rollback_with_old_head,
    "deleted-and-new-chain": delete_and_start_new_chain,
    "backup-restored-seq-end-nulled": restore_backup_null_seq_end,
    "anchors-deleted-external-kept": anchors_deleted_external_kept,
    "duplicate-key": duplicate_key,
    "non-canonical-line": non_canonical,
    "nan-value": nan_value,
    "blank-line": blank_line,
    "torn-last-line": torn_last_line,
    "head-from-other-installation": head_from_other_installation,
    "swapped-audit-pub": swap_public_key,
    "ledger-anchor-altered": alter_ledger_anchor,
    "mac-edited": edit_mac_only,
}

#: Cases verify must accept (with the installation's key).
ACCEPTED = {
    "intact",
    "purged-by-retention",
    "crash-before-head",
    "upgraded-from-v1",
    "repaired-after-torn-write",
    "mended-by-next-writer",
    "restarted-after-loss",
}


def copy_scene(scene: Scene, folder: Path) -> Scene:
    shutil.copytree(scene.folder, folder)
    return Scene(folder, scene.anchors, list(scene.external), list(scene.run_ends))
