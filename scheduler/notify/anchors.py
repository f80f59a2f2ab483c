"""Audit anchors that leave the machine: a signed point of the trail, sent as a notice.

Someone who can rewrite the trail, its head and the ledger together can roll all three
back; a copy of an anchor in a mailbox or a chat channel they do not control is what
catches that (``borough audit verify --anchors FILE``). Every ``anchor_every_hours`` the
scheduler signs a checkpoint (which also anchors it in the ledger) and sends its line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from loguru import logger

from borough.audit.trail import AuditTrail
from borough.errors import BoroughError
from scheduler.config import NotifySettings
from scheduler.notify.base import Notice


class AnchorNotices:
    """Sends an anchor at start and then every ``settings.anchor_every_hours``."""

    def __init__(
        self,
        settings: NotifySettings,
        trail: AuditTrail,
        publish: Callable[[Notice], bool],
        *,
        council: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.trail = trail
        self.publish = publish
        self.council = council
        self.clock = clock
        self._last: float | None = None

    @property
    def wanted(self) -> bool:
        return (
            self.settings.anchor_every_hours > 0
            and bool(self.settings.channels)
            and "anchor" in self.settings.events
        )

    def tick(self) -> bool:
        """Send an anchor if one is due; True if one was queued."""
        now = self.clock()
        period = self.settings.anchor_every_hours * 3600
        if not self.wanted or (self._last is not None and now - self._last < period):
            return False
        self._last = now
        try:
            self.trail.checkpoint("anchor notice")
        except BoroughError as exc:
            logger.bind(action="notify.anchor_failed").warning("cannot sign an anchor: {}", exc)
            return False
        anchor = self.trail.sink.last_anchor
        if anchor is None:
            return False
        line = anchor.to_line()
        return self.publish(
            Notice(
                event="anchor",
                bot="audit trail",
                schedule=None,
                run_id=None,
                when=datetime.now(UTC),
                summary=(
                    f"Audit anchor: record {anchor.seq} of {anchor.trail}'s trail. Keep this "
                    "message; `borough audit verify --anchors FILE` with the anchor line in "
                    "FILE proves later that the trail still holds this record."
                ),
                council=self.council,
                detail={"anchor": line},
            )
        )
