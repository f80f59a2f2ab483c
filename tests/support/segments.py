"""Tamper cases against a segmented trail: whole segment files deleted, swapped or rewritten.

The scene is written by the real writer with a small segment size, so that 16 records make
three closed segments and a live file (checkpoints every 5 records, as in
tests/support/tamper.py). Golden verdicts are ``tests/golden/audit/segment-<case>.txt``.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

from borough.audit import records
from borough.audit.segments import closed_segments
from tests.support.tamper import OTHER_KEY, RUN, Scene, dump, item_fields, rehash_from

SEGMENT_BYTES = 2400  #: about four records: three closed segments out of 16 records


def build_segmented(folder: Path, count: int = 16) -> Scene:
    scene = Scene(folder)
    sink = scene.sink()
    sink.roller = type(sink.roller)(sink, segment_bytes=SEGMENT_BYTES, daily=False)
    for i in range(count):
        sink.append(item_fields(i))
    sink.close()
    scene.run_ends = [(RUN, sink.end.seq)]
    return scene


def segment_files(scene: Scene) -> list[Path]:
    return [f.path for f in closed_segments(scene.folder)]


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def delete_middle_segment(scene: Scene) -> None:
    segment_files(scene)[1].unlink()


def swap_segments(scene: Scene) -> None:
    """Exchange the contents of the second and third closed segments (names stay)."""
    second, third = segment_files(scene)[1:3]
    a, b = second.read_bytes(), third.read_bytes()
    second.write_bytes(b)
    third.write_bytes(a)


def edit_segment_and_reclose(scene: Scene) -> None:
    """Edit a record of the second segment, recompute every hash in it and the SHA-256 its
    closing checkpoint records, so that the segment looks whole to a quick byte check."""
    path = segment_files(scene)[1]
    rows = _rows(path)
    rows[1]["outcome"] = "failed"
    rows = rehash_from(rows, 1)
    body = b"".join(line.encode() for line in dump(rows[:-1]))
    rows[-1]["detail"]["segment"]["sha256"] = __import__("hashlib").sha256(body).hexdigest()
    rows = rehash_from(rows, len(rows) - 1)
    path.write_bytes(body + dump(rows[-1:])[0].encode())


def edit_segment_resigned_with_other_key(scene: Scene) -> None:
    """As above, and sign the closing checkpoint with a key that is not the installation's."""
    path = segment_files(scene)[1]
    rows = _rows(path)
    rows[1]["outcome"] = "failed"
    rows = rehash_from(rows, 1)
    body = b"".join(line.encode() for line in dump(rows[:-1]))
    closing = rows[-1]
    closing["detail"]["segment"]["sha256"] = __import__("hashlib").sha256(body).hexdigest()
    closing["signature"] = base64.b64encode(
        OTHER_KEY.sign(records.signed_payload(closing))
    ).decode()
    rows = rehash_from(rows, len(rows) - 1)
    path.write_bytes(body + dump(rows[-1:])[0].encode())


def cut_closing_checkpoint(scene: Scene) -> None:
    """Remove the last line (its closing checkpoint) of the first closed segment."""
    path = segment_files(scene)[0]
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))


def rename_segment(scene: Scene) -> None:
    """Give the third segment the name of a later record (as if it began elsewhere)."""
    path = segment_files(scene)[2]
    first = _rows(path)[0]["seq"]
    os.rename(path, path.with_name(f"{first + 2:012d}.jsonl"))


SEGMENT_CASES: dict[str, Callable[[Scene], None] | None] = {
    "segment-intact": None,
    "segment-deleted-middle": delete_middle_segment,
    "segment-swapped": swap_segments,
    "segment-edited-and-reclosed": edit_segment_and_reclose,
    "segment-reclosed-with-other-key": edit_segment_resigned_with_other_key,
    "segment-closing-cut": cut_closing_checkpoint,
    "segment-renamed": rename_segment,
}
SEGMENT_ACCEPTED = {"segment-intact"}
