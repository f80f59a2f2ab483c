"""A small IMAP client over the standard library's ``imaplib``: what a shared mailbox needs.

Messages are named by UID within a folder's UIDVALIDITY (RFC 3501): a UID never names
another message while UIDVALIDITY is unchanged, so ``(uidvalidity, uid)`` is how a message
in the folder is found again, and the Message-ID is how it is recognised after a server
renumbered the folder. Reads use ``BODY.PEEK`` (nothing is marked \\Seen); a message is
moved with ``UID MOVE`` (RFC 6851) or, where the server lacks it, COPY + \\Deleted +
``UID EXPUNGE`` of that one UID. Every failure is a :class:`ConnectorError` naming the
server, folder and command, never the password.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from borough.errors import ConnectorError
from borough.mail.settings import ImapSettings, check_folder

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
FETCH_BATCH = 200


def quote(folder: str) -> str:
    return '"' + check_folder(folder) + '"'


class ImapMailbox:
    """One signed-in IMAP session; :meth:`select` a folder before working in it."""

    def __init__(
        self, settings: ImapSettings, username: str, password: str, *, timeout: float = 30
    ) -> None:
        self.where = f"{settings.host}:{settings.port_or_default()}"
        self.folder: str | None = None
        self.uidvalidity: int | None = None
        try:
            if settings.security == "ssl":
                self.client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    settings.host,
                    settings.port_or_default(),
                    ssl_context=ssl.create_default_context(),
                    timeout=timeout,
                )
            else:
                self.client = imaplib.IMAP4(settings.host, settings.port_or_default(), timeout)
                if settings.security == "starttls":
                    self.client.starttls(ssl.create_default_context())
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ConnectorError(f"IMAP server {self.where}: cannot connect ({exc})") from None
        try:
            if (username + password).isascii():
                self.client.login(username, password)
            else:  # imaplib's LOGIN is ASCII only; AUTHENTICATE PLAIN is UTF-8 (RFC 4616)
                token = f"\0{username}\0{password}".encode()
                self.client.authenticate("PLAIN", lambda _challenge: token)
        except imaplib.IMAP4.error as exc:
            self.close()
            raise ConnectorError(
                f"IMAP server {self.where} refused the sign-in of the mailbox account "
                f"({_text(exc)}); check the account and its secret (`borough secrets set`)"
            ) from None
        except OSError as exc:
            self.close()
            raise ConnectorError(f"IMAP server {self.where}: connection lost ({exc})") from None

    # -- folders -------------------------------------------------------------------------------
    def select(self, folder: str) -> int:
        """Open ``folder`` for work; its UIDVALIDITY."""
        status, _ = self._call("SELECT", folder, lambda: self.client.select(quote(folder)))
        if status != "OK":
            raise ConnectorError(f"IMAP server {self.where}: no folder {folder!r}")
        found = self.client.response("UIDVALIDITY")[1]
        value = found[-1] if found and found[-1] is not None else None
        if value is None:
            raise ConnectorError(f"IMAP server {self.where}: folder {folder!r} has no UIDVALIDITY")
        self.folder, self.uidvalidity = folder, int(value)
        return self.uidvalidity

    def ensure_folder(self, folder: str) -> None:
        """Create ``folder`` unless it exists (an existing one is left as it is)."""
        status, data = self._call("LIST", folder, lambda: self.client.list('""', quote(folder)))
        if status == "OK" and any(data):
            return
        status, data = self._call("CREATE", folder, lambda: self.client.create(quote(folder)))
        if status != "OK" and "exists" not in _join(data).lower():
            raise ConnectorError(
                f"IMAP server {self.where}: cannot create folder {folder!r} ({_join(data)})"
            )

    # -- messages ------------------------------------------------------------------------------
    def uids(self) -> list[int]:
        """Every message in the selected folder (deleted-flagged ones left out), oldest first."""
        status, data = self._uid("SEARCH", "UNDELETED")
        if status != "OK":
            raise ConnectorError(f"IMAP server {self.where}: SEARCH failed ({_join(data)})")
        return sorted(int(uid) for uid in (data[0] or b"").split())

    def headers(self, uids: Iterable[int]) -> dict[int, tuple[str | None, int]]:
        """(Message-ID or None, size in bytes) of each UID still in the folder."""
        found: dict[int, tuple[str | None, int]] = {}
        wanted = list(uids)
        for start in range(0, len(wanted), FETCH_BATCH):
            batch = ",".join(str(uid) for uid in wanted[start : start + FETCH_BATCH])
            status, data = self._uid(
                "FETCH", batch, "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
            )
            if status != "OK":
                raise ConnectorError(f"IMAP server {self.where}: FETCH failed ({_join(data)})")
            for part in data:
                if not isinstance(part, tuple):
                    continue
                uid, size = _UID.search(part[0]), _SIZE.search(part[0])
                if uid is not None:
                    found[int(uid.group(1))] = (
                        _message_id(part[1]),
                        int(size.group(1)) if size else 0,
                    )
        return found

    def fetch(self, uid: int) -> bytes | None:
        """The whole message (RFC 822 bytes), unread-flag untouched; None if it is gone."""
        status, data = self._uid("FETCH", str(uid), "(UID BODY.PEEK[])")
        if status != "OK":
            raise ConnectorError(f"IMAP server {self.where}: FETCH failed ({_join(data)})")
        for part in data:
            if isinstance(part, tuple) and _UID.search(part[0]):
                return bytes(part[1])
        return None

    def find(self, message_id: str) -> list[int]:
        """UIDs of the selected folder's messages with this Message-ID."""
        status, data = self._uid("SEARCH", "HEADER", "Message-ID", _quoted_arg(message_id))
        if status != "OK":
            return []
        return [int(uid) for uid in (data[0] or b"").split()]

    def move(self, uid: int, folder: str) -> bool:
        """Move message ``uid`` of the selected folder to ``folder``; False if it is not there."""
        status, data = self._uid("SEARCH", "UID", str(uid), "UNDELETED")
        if status != "OK" or str(uid).encode() not in (data[0] or b"").split():
            return False
        if "MOVE" in self.client.capabilities:
            status, data = self._uid("MOVE", str(uid), quote(folder))
        else:
            status, data = self._uid("COPY", str(uid), quote(folder))
            if status == "OK":
                self._uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
                if "UIDPLUS" in self.client.capabilities:
                    self._uid("EXPUNGE", str(uid))
                else:
                    self.client.expunge()
        if status != "OK":
            raise ConnectorError(
                f"IMAP server {self.where}: cannot move a message to {folder!r} ({_join(data)})"
            )
        return True

    def append(self, folder: str, data: bytes) -> None:
        status, reply = self._call(
            "APPEND", folder, lambda: self.client.append(quote(folder), "", None, data)
        )
        if status != "OK":
            raise ConnectorError(f"IMAP server {self.where}: APPEND failed ({_join(reply)})")

    def noop(self) -> None:
        self._call("NOOP", self.folder or "", self.client.noop)

    def close(self) -> None:
        with contextlib.suppress(OSError, imaplib.IMAP4.error, AttributeError):
            self.client.logout()

    # -- plumbing -----------------------------------------------------------------------------
    def _uid(self, command: str, *args: str) -> tuple[str, list[Any]]:
        return self._call(command, self.folder or "", lambda: self.client.uid(command, *args))

    def _call(self, command: str, folder: str, call: Callable[[], Any]) -> tuple[str, list[Any]]:
        try:
            status, data = call()
        except (TimeoutError, imaplib.IMAP4.abort, OSError) as exc:
            raise ConnectorError(
                f"IMAP server {self.where}: connection lost during {command} "
                f"in {folder or 'the session'} ({_text(exc)})"
            ) from None
        except imaplib.IMAP4.error as exc:
            raise ConnectorError(
                f"IMAP server {self.where}: {command} refused in {folder or 'the session'} "
                f"({_text(exc)})"
            ) from None
        return str(status), list(data or [])


def _message_id(header: bytes) -> str | None:
    text = header.decode("ascii", errors="replace")
    unfolded = re.sub(r"\r?\n[ \t]+", " ", text).strip()
    if ":" not in unfolded:
        return None
    value = unfolded.split(":", 1)[1].strip()
    return value or None


def _quoted_arg(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(exc: BaseException) -> str:
    text = str(exc)
    return text[2:-1] if text.startswith("b'") and text.endswith("'") else text


def _join(data: list[Any]) -> str:
    return " ".join(
        d.decode(errors="replace") if isinstance(d, bytes) else str(d) for d in data if d
    )[:200]
