"""``audit verify --full`` on both cores: the trail's files are cut into chunks at line
boundaries, each chunk is walked in its own process knowing only the record before it (its
seq and hash, read from the file), and the chunks' results are joined in order.

Only a trail that is intact comes out of here: when a chunk meets a problem, when the
chunks do not join (a record missing between them, a start no purge accounts for, a closed
segment that does not end with its closing checkpoint) or when the index's rows for a chunk
do not hash to what the chunk saw, the caller walks the trail again in order, which names
the first bad record exactly.

While the chunks are walked, this process reads the index's rows for each chunk's range of
records (known from the plan) and digests them; each chunk also checks the signatures of the
ledger's anchors that fall in its range, so nothing of the work is left to one core.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from borough.audit import records
from borough.audit.anchors import Anchor
from borough.audit.index import segment_of
from borough.audit.indexrows import ChainRow
from borough.audit.keys import AuditKeys
from borough.audit.segments import TrailFile
from borough.audit.trailwalk import Start, TrailWalk
from borough.audit.walk import Resume, Row, Stop, WalkResult

MIN_PARALLEL_BYTES = 64 << 20  #: below this the walk is faster in one process
CHUNK_BYTES = 32 << 20
WORKERS = 2
START_METHOD = "spawn"  #: safe in the threaded dashboard; tests use fork


@dataclass(frozen=True)
class Chunk:
    number: int  #: the file's number in trail order
    path: str
    first_seq: int | None  #: a closed segment's name
    segment: int
    start: int
    end: int
    prev: tuple[int, str] | None  #: the record before the chunk


@dataclass
class ChunkResult:
    result: WalkResult
    lines: int
    digest: str  #: over (seq, hash, segment, offset, length) of every row, for the index
    problem: bool = False
    signed: list[int] = field(default_factory=list)  #: its anchors whose signature holds


@dataclass
class Joined:
    result: WalkResult
    closings: dict[int, Row] = field(default_factory=dict)
    anchors_ok: set[Anchor] = field(default_factory=set)  #: ledger anchors whose signature holds


ChunkArgs = tuple[Chunk, bytes | None, bytes, int, list[int], list[Anchor]]


def walk_in_parallel(
    walk: TrailWalk,
    wanted: set[int],
    index_rows: Iterator[ChainRow] | None = None,
    anchors: Sequence[Anchor] = (),
) -> Joined | None:
    """The joined result of walking ``walk``'s files in chunks, or None: walk in order."""
    files = walk.files
    sizes = [_size(f.path) for f in files]
    if sum(sizes) < MIN_PARALLEL_BYTES or walk.start is not None:
        return None
    chunks = _plan(files, sizes)
    if chunks is None:
        return None
    keys = walk.keys
    public = keys.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    shares = _anchor_shares(chunks, anchors)
    args: list[ChunkArgs] = [
        (c, keys.mac_key, public, walk.head_seq, sorted(wanted), share)
        for c, share in zip(chunks, shares, strict=True)
    ]
    context = multiprocessing.get_context(START_METHOD)
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=context) as pool:
        walking = pool.map(_walk_chunk, args)  # every chunk is submitted now
        digests = None if index_rows is None else _index_digests(chunks, index_rows)
        results = list(walking)
    joined = _join(chunks, results)
    if joined is None:
        return None
    if digests is not None and digests != [r.digest for r in results]:
        return None
    for share, part in zip(shares, results, strict=True):
        joined.anchors_ok.update(share[i] for i in part.signed)
    return joined


def _bounds(chunks: list[Chunk]) -> list[int]:
    """The last seq of each chunk but the last (the seq of the record before the next)."""
    return [c.prev[0] for c in chunks[1:] if c.prev is not None]


def _anchor_shares(chunks: list[Chunk], anchors: Sequence[Anchor]) -> list[list[Anchor]]:
    """The anchors whose record falls in each chunk (those after the last go to the last)."""
    bounds = _bounds(chunks)
    shares: list[list[Anchor]] = [[] for _ in chunks]
    for anchor in anchors:
        shares[bisect.bisect_left(bounds, anchor.seq)].append(anchor)
    return shares


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _plan(files: list[TrailFile], sizes: list[int]) -> list[Chunk] | None:
    chunks: list[Chunk] = []
    prev: tuple[int, str] | None = None
    for number, (file, size) in enumerate(zip(files, sizes, strict=True)):
        if size == 0:
            continue
        segment = file.first_seq if file.closed else segment_of(file)
        if segment is None:
            return None
        with file.path.open("rb") as handle:
            cuts = [0]
            while cuts[-1] + CHUNK_BYTES < size:
                handle.seek(cuts[-1] + CHUNK_BYTES)
                handle.readline()
                if handle.tell() >= size:
                    break
                cuts.append(handle.tell())
            cuts.append(size)
            for start, end in itertools.pairwise(cuts):
                chunks.append(
                    Chunk(number, str(file.path), file.first_seq, segment, start, end, prev)
                )
                prev = _record_before(handle, end)
                if prev is None:
                    return None
    return chunks


def _record_before(handle: object, end: int) -> tuple[int, str] | None:
    """(seq, hash) of the line that ends at ``end``."""
    fd = handle.fileno()  # type: ignore[attr-defined]
    back = min(end, 1 << 20)
    data = os.pread(fd, back, end - back)
    if not data.endswith(b"\n"):
        return None
    line = data[data.rfind(b"\n", 0, len(data) - 1) + 1 :]
    found = records.quick(line)
    if found is not None:
        return found.seq, found.hash
    try:
        record = records.parse_line(line)
    except records.MalformedRecord:
        return None
    return int(record["seq"]), str(record["hash"])


def _walk_chunk(args: ChunkArgs) -> ChunkResult:
    chunk, mac_key, public, head_seq, wanted, anchors = args
    public_key = Ed25519PublicKey.from_public_bytes(public)
    keys = AuditKeys(public_key, None, mac_key)
    file = TrailFile(Path(chunk.path), chunk.first_seq)
    start = None
    if chunk.prev is not None:
        seq, digest = chunk.prev
        row = Row(0, seq, digest, "", "", records.SCHEMA, None, True, None, None, None)
        start = Start(0, chunk.start, 0, Resume(seq, digest, signed=False), row)
    lines = 0
    index = hashlib.sha256()
    parts: list[str] = []

    def seen(row: Row, segment: int, _name: str | None) -> None:
        nonlocal lines
        lines = row.line
        parts.append(f"{row.seq}:{row.hash}:{chunk.segment}:{row.offset}:{row.length}\n")
        if len(parts) >= 10_000:
            index.update("".join(parts).encode())
            parts.clear()

    walk = TrailWalk(
        [file], keys, head_seq=head_seq, start=start, on_row=seen, end=chunk.end, defer_start=True
    )
    try:
        result = walk.run(wanted=wanted)
    except Stop:
        return ChunkResult(WalkResult(), 0, "", problem=True)
    index.update("".join(parts).encode())
    signed = [i for i, anchor in enumerate(anchors) if anchor.signature_ok(keys)]
    return ChunkResult(result, lines, index.hexdigest(), signed=signed)


def _join(chunks: list[Chunk], results: list[ChunkResult]) -> Joined | None:
    if any(r.problem for r in results):
        return None
    joined = WalkResult()
    out = Joined(joined)
    lines_before: dict[int, int] = {}
    for position, (chunk, part) in enumerate(zip(chunks, results, strict=True)):
        shift = lines_before.get(chunk.number, 0)
        lines_before[chunk.number] = shift + part.lines
        result = part.result

        def placed(row: Row | None, chunk: Chunk = chunk, shift: int = shift) -> Row | None:
            return None if row is None else replace(row, line=row.line + shift, file=chunk.number)

        first = result.first
        if first is not None and chunk.start == 0 and first.seq != (chunk.first_seq or first.seq):
            return None  # a misnamed segment: the ordered walk says which
        if position == 0:
            joined.first = placed(result.first)
            joined.pending_start = result.pending_start
        joined.records += result.records
        joined.checkpoints += result.checkpoints
        joined.restarted = joined.restarted or result.restarted
        joined.claims |= result.claims
        if result.signed_through is not None and result.last_signed is not None:
            joined.signed_through = result.signed_through
            joined.last_signed = placed(result.last_signed)
            joined.unsigned = placed(result.unsigned)
        elif joined.unsigned is None:
            joined.unsigned = placed(result.unsigned)
        for seq, row in result.found.items():
            if row.line:  # the chunk's own rows, not the record before it
                joined.found[seq] = placed(row)  # type: ignore[assignment]
        if result.last is not None and result.records:
            joined.last = placed(result.last)
        last_of_file = position + 1 == len(chunks) or chunks[position + 1].number != chunk.number
        if last_of_file and chunk.first_seq is not None:
            closing = joined.last
            segment = closing.detail.get("segment") if closing and closing.detail else None
            if closing is None or not isinstance(segment, dict) or not closing.signature_ok:
                return None
            out.closings[chunk.number] = closing
    start = joined.pending_start
    if start is not None and (start.seq - 1, start.prev_hash) not in joined.claims:
        return None
    joined.pending_start = None
    return out


def _index_digests(chunks: list[Chunk], rows: Iterator[ChainRow]) -> list[str]:
    """Each chunk's digest of the index's rows in its range of records, as the chunk makes
    it of the rows it walks (so an index that agrees gives the same digests)."""
    bounds = _bounds(chunks)
    digests = [hashlib.sha256() for _ in chunks]
    number, bound = 0, bounds[0] if bounds else None
    lines: list[str] = []
    for row in rows:
        if bound is not None and row[0] > bound:
            digests[number].update("".join(lines).encode())
            lines.clear()
            while bound is not None and row[0] > bound:
                number += 1
                bound = bounds[number] if number < len(bounds) else None
        lines.append("{}:{}:{}:{}:{}\n".format(*row))
        if len(lines) >= 10_000:
            digests[number].update("".join(lines).encode())
            lines.clear()
    digests[number].update("".join(lines).encode())
    return [d.hexdigest() for d in digests]
