"""``mailbox:`` triggers: each new message in a shared mailbox's folder is handed once to a
run as its input, then moved to a ``Processed`` or ``Rejected`` folder.

A message is known by its Message-ID (its SHA-256 is the event key, unique per trigger)
and found in the folder by ``UIDVALIDITY:UID`` (the event's ``name``). Taking it: the
whole message is fetched (``BODY.PEEK``: left unread) and saved privately as
``var/mail/<trigger>/<uidvalidity>-<uid>.eml``, then the event, the QUEUED run with that
file as its input and the ``trigger.fired`` record are written in one ledger transaction.
When the run ends the event is settled (``processed`` for SUCCEEDED or
COMPLETED_WITH_FAILURES, else ``rejected``), then the message is moved and its saved copy
removed.

Every step can be interrupted: a message saved but not recorded is still in the folder
and taken at the next look (its event key decides, so never twice); a message whose
event is settled but which was not moved is moved at the next look. A second message
with a Message-ID already taken is a duplicate and goes to ``Rejected`` at once; a
rejected message an operator moves back into the folder (it gets a new UID) is taken
again. A server that renumbers the folder (new UIDVALIDITY) changes nothing: messages
are recognised by Message-ID. Messages without one are keyed by UIDVALIDITY and UID.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime
from pathlib import Path

from loguru import logger

from borough import filemodes
from borough.errors import ConfigError, ConnectorError
from borough.mail.imap import ImapMailbox
from borough.mail.message import PARTS_SUFFIX, parse_message
from borough.mail.settings import MailSettings, mail_settings
from scheduler.events.base import Watch
from scheduler.events.book import EventBook
from scheduler.events.config import MailboxWatchConfig, TriggerConfig
from scheduler.events.files import input_of
from scheduler.events.store import DONE, PROCESSED, REJECTED, TAKEN, Event, EventRow

MAIL_FOLDER = Path("var") / "mail"


def event_key(message_id: str | None, uidvalidity: int, uid: int) -> str:
    """The event key of a message: its Message-ID's SHA-256 (the ID itself may name a
    person), or its place in the folder when it has none."""
    if message_id:
        return "message-id:" + hashlib.sha256(message_id.strip().encode()).hexdigest()
    return f"uid:{uidvalidity}:{uid}"


def place(uidvalidity: int, uid: int) -> str:
    return f"{uidvalidity}:{uid}"


def _validity_of(row: EventRow) -> int | None:
    head = (row.name or "").split(":", 1)[0]
    return int(head) if head.isdigit() else None


class MailboxWatch(Watch):
    kind = "mailbox"

    def __init__(self, name: str, config: TriggerConfig, book: EventBook, *, home: Path) -> None:
        super().__init__(name, config, book)
        assert config.mailbox is not None
        self.spec: MailboxWatchConfig = config.mailbox
        self.settings: MailSettings = mail_settings(self.spec.app, book.config.app(self.spec.app))
        if self.settings.imap is None:
            raise ConfigError(
                f"app {self.spec.app!r} has no imap: section; a mailbox trigger reads over IMAP"
            )
        self.folder = self.spec.folder or self.settings.folder
        self.input = input_of(book.config, config)
        self.saved = home / MAIL_FOLDER / name
        self._box: ImapMailbox | None = None
        self._validity: int | None = None
        self._known: set[int] = set()  # UIDs the ledger accounts for (under _validity)
        self._swept = False

    # -- one look -----------------------------------------------------------------------------
    def poll(self, now: datetime) -> None:
        if not self._swept:
            self._sweep()
        try:
            box = self._open()
            self._finish_ended(box)
            self._look(box, now)
        except ConnectorError:
            self.close()  # signed in afresh at the next poll
            raise

    def close(self) -> None:
        if self._box is not None:
            self._box.close()
            self._box = None

    def _open(self) -> ImapMailbox:
        if self._box is None:
            settings = self.settings
            assert settings.imap is not None
            password = self.book.secret(settings.credential) if settings.credential else ""
            box = ImapMailbox(
                settings.imap, settings.username, password, timeout=settings.timeout_seconds
            )
            try:
                for folder in (self.spec.processed, self.spec.rejected):
                    box.ensure_folder(folder)
            except ConnectorError:
                box.close()
                raise
            self._box = box
        validity = self._box.select(self.folder)  # again each look: new messages show
        if validity != self._validity:
            self._validity = validity
            self._known.clear()
        return self._box

    # -- new messages --------------------------------------------------------------------------
    def _look(self, box: ImapMailbox, now: datetime) -> None:
        validity = self._validity
        assert validity is not None
        new = [uid for uid in box.uids() if uid not in self._known]
        if not new:
            return
        ready: list[tuple[int, str, int]] = []
        for uid, (message_id, size) in sorted(box.headers(new).items()):
            key = event_key(message_id, validity, uid)
            row = self.book.store.get(self.name, key)
            if row is None or self._retake(box, uid, row):
                ready.append((uid, key, size))
        if not ready:
            return
        free = self.book.free_runs(self.name, self.config, now, waiting=len(ready))
        for uid, key, size in ready:
            if free <= 0:
                break
            if self._take(box, uid, key, size, now):
                free -= 1

    def _retake(self, box: ImapMailbox, uid: int, row: EventRow) -> bool:
        """What to do with a message whose key was taken before; True to take it again."""
        here = place(self._validity or 0, uid)
        renumbered = _validity_of(row) != self._validity
        if row.state in (TAKEN, DONE):
            if row.name == here or renumbered:
                self._known.add(uid)  # its run is queued or running
            else:
                self._duplicate(box, uid, row)
            return False
        if row.name == here or renumbered:  # settled, but the move did not happen
            self._move(box, uid, row.state, row)
            return False
        if row.state == REJECTED:
            return True  # moved back into the folder by an operator
        self._duplicate(box, uid, row)
        return False

    def _take(self, box: ImapMailbox, uid: int, key: str, size: int, now: datetime) -> bool:
        """Save the message and record its run; True if a run was queued."""
        assert self._validity is not None
        detail = {"uid": uid, "uidvalidity": self._validity, "bytes": size}
        if size > self.spec.max_message_mb * 1024 * 1024:
            self._reject_unread(box, uid, detail)
            return False
        data = box.fetch(uid)
        if data is None:
            return False  # moved or deleted by someone meanwhile
        filemodes.make_folder(self.saved)
        path = self.saved / f"{self._validity}-{uid}.eml"
        filemodes.write_private(path, data)
        detail["attachments"] = _count_attachments(data)
        run = self.book.fire(
            self.name,
            self.config,
            [Event(key=key, name=place(self._validity, uid), detail=detail)],
            inputs={self.input: str(path)},
            detail={"mailbox": self.spec.app, "folder": self.folder, **detail},
            now=now,
        )
        if run is None:  # taken meanwhile (another scheduler's last breath): look again
            _remove(path)
            return False
        self._known.add(uid)
        return True

    def _duplicate(self, box: ImapMailbox, uid: int, first: EventRow) -> None:
        why = f"same Message-ID as the message taken by run {first.run_id}"
        self._audit("duplicate", uid, why)
        self._move_uid(box, uid, self.spec.rejected)

    def _reject_unread(self, box: ImapMailbox, uid: int, detail: dict[str, int]) -> None:
        limit = self.spec.max_message_mb
        why = f"message of {detail['bytes']} bytes is over max_message_mb ({limit:g} MB)"
        self._audit("rejected", uid, why)
        self._move_uid(box, uid, self.spec.rejected)

    # -- after the run -------------------------------------------------------------------------
    def _finish_ended(self, box: ImapMailbox) -> None:
        def detail(row: EventRow) -> dict[str, object]:
            return {"uid": row.detail.get("uid"), "uidvalidity": row.detail.get("uidvalidity")}

        for row, state, _ in self.book.settle_ended(self.name, self.config, "mail", detail):
            if _validity_of(row) == self._validity:
                uid = int((row.name or "0:0").split(":", 1)[1])
                self._move(box, uid, state, row)
            # renumbered: found by its Message-ID at the next look and moved then

    def _move(self, box: ImapMailbox, uid: int, state: str, row: EventRow) -> None:
        folder = self.spec.processed if state == PROCESSED else self.spec.rejected
        self._move_uid(box, uid, folder)
        if row.name:
            validity, _, number = row.name.partition(":")
            _remove(self.saved / f"{validity}-{number}.eml")

    def _move_uid(self, box: ImapMailbox, uid: int, folder: str) -> None:
        box.move(uid, folder)
        self._known.discard(uid)

    def _sweep(self) -> None:
        """Saved copies of messages whose event is settled (or was never recorded)."""
        self._swept = True
        if not self.saved.is_dir():
            return
        for path in self.saved.glob("*.eml"):
            validity, _, uid = path.stem.partition("-")
            row = self.book.store.by_name(self.name, f"{validity}:{uid}")
            if row is None or row.state not in (TAKEN, DONE):
                _remove(path)

    def _audit(self, what: str, uid: int, why: str) -> None:
        self.book.trail.bind(bot=self.config.bot).emit(
            f"trigger.mail.{what}",
            outcome="rejected",
            error=why,
            detail={"trigger": self.name, "uid": uid, "uidvalidity": self._validity},
        )
        logger.bind(action=f"trigger.mail.{what}").info(
            "trigger {}: message {} rejected: {}", self.name, uid, why
        )


def _count_attachments(data: bytes) -> int:
    return sum(1 for _ in parse_message(data).iter_attachments())


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    shutil.rmtree(Path(str(path) + PARTS_SUFFIX), ignore_errors=True)
