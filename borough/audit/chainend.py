"""The proven end of the audit trail: what the chain writer checks before it appends.

Kept apart from :mod:`borough.audit.chain` (locking and writing) so each stays one job.
:class:`ChainEnd` is a base of :class:`~borough.audit.chain.ChainSink`: before an append it
proves the file's end against the signed head and the ledger's anchors
(:mod:`borough.audit.guard`), cheaply when nothing changed since it last looked; after a
write it takes the new end as proven, feeds the index and anchors the latest signed point.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from borough.audit import records
from borough.audit.anchors import Anchor, AnchorKind, AnchorStore
from borough.audit.chainfields import ROUTINE
from borough.audit.files import complete_end
from borough.audit.guard import Seen, prove_tail, torn_refusal
from borough.audit.head import HeadUnreadable, Point, read_head
from borough.audit.index import IndexFeed
from borough.audit.indexrows import entry_of
from borough.audit.keys import AuditKeys
from borough.audit.segments import closing_detail
from borough.errors import AuditError

if TYPE_CHECKING:
    from borough.audit.rolling import Roller

AnchorSource = AnchorStore | Callable[[], AnchorStore | None] | None


class ChainEnd(ABC):
    """The trail's end as proven, and its anchors (``ChainSink`` sets these)."""

    path: Path
    head_path: Path
    keys: AuditKeys
    trail_id: str
    roller: Roller
    index: IndexFeed
    last_ts: str | None
    last_anchor: Anchor | None
    _anchor_source: AnchorSource
    _fd: int | None
    _fingerprint: tuple[Any, ...] | None
    _end: Point
    _size: int
    _seen: Seen | None
    _anchor_checked: bool

    @property
    def end(self) -> Point:
        """The last record written or proven (under :meth:`exclusive`)."""
        return self._end

    @property
    def fd(self) -> int:
        assert self._fd is not None, "only under exclusive()"
        return self._fd

    def prove_end(
        self,
        *,
        force: bool = False,
        mend: bool = True,
        context: Mapping[str, Any] | None = None,
    ) -> Point:
        """Check the file's end (cheap when nothing changed since this sink last looked).

        A torn last line (a writer stopped mid-write) after a part that proves is moved
        aside as ``borough audit repair`` does (unless ``mend`` is false), in a signed
        record carrying the run context of ``context``.
        """
        fingerprint = self._stat()
        if fingerprint == self._fingerprint and not force:
            return self._end
        inode_changed = self._seen is not None and fingerprint[0] != self._seen.inode
        if inode_changed and self._starts_with_restart():
            self._seen = None  # `audit restart` elsewhere: a new chain (the ledger's anchors hold)
        anchor = None
        if not self._anchor_checked or inode_changed or force:
            anchor = self.latest_anchor()
        try:
            head = read_head(self.head_path)
        except HeadUnreadable as why:
            raise AuditError(
                f"{self.head_path} is damaged ({why}), so the end of the audit trail cannot be "
                "proven; nothing more is written. Run `borough audit verify`, then "
                "`borough audit repair`"
            ) from None
        except OSError as exc:
            raise AuditError(f"cannot read {self.head_path}: {exc.strerror}") from None
        if head is not None and not head.signature_ok(self.keys):
            raise AuditError(
                f"{self.head_path} is not signed by this installation's key (it was replaced, or "
                "copied from another installation); nothing more is written. Run "
                "`borough audit verify`"
            )
        if self._fingerprint is None or fingerprint[0] != self._fingerprint[0]:
            self.roller.forget()  # a new live file (a roll-over, a purge): list segments again
        size = fingerprint[1]
        torn = mend and size > 0 and os.pread(self.fd, 1, size - 1) != b"\n"
        cut = complete_end(self.fd, size) if torn else size
        closed = self.roller.closed()
        try:
            tail = prove_tail(
                self.fd,
                cut,
                head,
                self.keys,
                path=self.path,
                anchor=anchor,
                seen=None if inode_changed else self._seen,
                seen_seq=self._seen.seq if self._seen else 0,
                closed=closed,
            )
        except AuditError as why:
            if not torn:
                raise
            raise torn_refusal(self.path, self.fd, size, cut, closed=closed, why=why) from None
        if torn and tail.in_live and closing_detail(tail.record) is not None:
            raise torn_refusal(self.path, self.fd, size, cut, closed=closed, why=None)
        self._end = tail.point
        self.last_ts = str(tail.record["ts"]) if tail.record else None
        self.roller.saw(tail)
        self._size = cut
        self._anchor_checked = True
        self._fingerprint = fingerprint
        if torn:
            self._mend_torn(dict(context or {}))
        return self._end

    @abstractmethod
    def _mend_torn(self, context: dict[str, Any]) -> None:
        """Move the torn end aside and record it (:func:`borough.audit.repair.mend_torn_end`:
        writing the record needs the whole sink)."""

    def _starts_with_restart(self) -> bool:
        first = os.pread(self.fd, 65536, 0).split(b"\n", 1)
        if len(first) < 2:
            return False
        try:
            record = records.parse_line(first[0])
        except records.MalformedRecord:
            return False
        return (
            record["seq"] == 1
            and record.get("action") == records.RESTARTED
            and self.keys.signature_ok(record.get("signature"), records.signed_payload(record))
        )

    def _stat(self) -> tuple[Any, ...]:
        st = os.fstat(self.fd)
        try:
            hs = os.stat(self.head_path)
            head: tuple[int, int, int] | None = (hs.st_ino, hs.st_size, hs.st_ctime_ns)
        except FileNotFoundError:
            head = None
        return (st.st_ino, st.st_size, st.st_ctime_ns, head)

    def latest_anchor(self) -> Anchor | None:
        store = self.anchor_store()
        if store is None:
            return None
        try:
            return store.latest(self.trail_id)
        except Exception as exc:  # the ledger may be busy or down: do not stop auditing
            logger.bind(action="audit.anchor_unreadable").warning(
                "cannot read the audit anchors from the ledger ({}); the trail's end is "
                "checked against its signed head only",
                exc,
            )
            return None

    def anchor_store(self) -> AnchorStore | None:
        source = self._anchor_source
        if source is None:
            return None
        if not isinstance(source, AnchorStore):
            source = source()
            self._anchor_source = source
        return source

    def anchor(self, point: Point, ts: str, kind: AnchorKind = "checkpoint") -> Anchor:
        """Sign ``point`` and record it in the anchor store (a warning if it cannot)."""
        anchor = self.sign_anchor(point, ts, kind)
        self.record_anchor(anchor)
        return anchor

    def sign_anchor(self, point: Point, ts: str, kind: AnchorKind = "checkpoint") -> Anchor:
        anchor = Anchor(self.trail_id, point.seq, point.hash, ts, kind).signed(self.keys)
        self.last_anchor = anchor
        return anchor

    def record_anchor(self, anchor: Anchor) -> None:
        """Record a signed anchor in the anchor store (a warning if it cannot)."""
        store = self.anchor_store()
        if store is not None:
            try:
                store.record(anchor)
            except Exception as exc:
                logger.bind(action="audit.anchor_failed").warning(
                    "could not record the audit anchor for record {} in the ledger: {}",
                    anchor.seq,
                    exc,
                )

    def _after_write(
        self, written: list[tuple[dict[str, Any], bytes]], segment: int, offset: int
    ) -> None:
        entries = []
        for written_record, written_line in written:
            entries.append(
                entry_of(
                    self.trail_id,
                    written_record,
                    segment=segment,
                    offset=offset,
                    length=len(written_line),
                )
            )
            offset += len(written_line)
        record, line = written[-1]
        self._fingerprint = self._stat()
        self._seen = Seen(record["seq"], line, self._size, self._fingerprint[0])
        self.last_ts = record["ts"]
        signed = [r for r, _ in written if r.get("action") in records.SIGNED_ACTIONS]
        # Routine checkpoints' rows wait for the next batch of index rows (readers add what
        # the index lacks from the files first); a run's end, a purge or a repair is sent now.
        routine = all(r["detail"] == ROUTINE for r in signed)
        # The latest signed point is what the ledger's anchor must vouch for (anchors only
        # grow, and a trail shorter than the latest is refused): a group's earlier
        # checkpoints need none of their own. A restart starts a chain: always anchored.
        # The feed records them with the index rows: a routine checkpoint's at once by its
        # own thread (the writer goes on), any other's before this returns.
        anchors = [
            self.sign_anchor(
                Point(r["seq"], r["hash"]),
                r["ts"],
                "restart" if r.get("action") == records.RESTARTED else "checkpoint",
            )
            for r in signed
            if r.get("action") == records.RESTARTED or r is signed[-1]
        ]
        self.index.add(entries, urgent=not routine, anchors=anchors)
