"""A received e-mail as a bot reads it: headers, text and attachments saved as files.

Attachments are written under a private folder (0700, files 0600) with safe names — a
name from the sender never reaches outside that folder (``../`` and path parts dropped,
odd characters replaced) — so ``read_table(attachment.path, Row)`` reads a CSV or Excel
attachment like any input. Addresses are personal data: they are kept out of ``repr``,
and logs and the audit trail redact them at the sink (the ``EMAIL`` pattern).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from borough import filemodes
from borough.errors import InputError

PARTS_SUFFIX = ".parts"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]+")
MAX_NAME = 120


@dataclass(frozen=True)
class Attachment:
    """One attached file: its (safe) name, declared type, size and where it was saved."""

    name: str
    content_type: str
    size: int
    path: Path

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix.lower()


@dataclass(frozen=True)
class MailMessage:
    message_id: str | None
    subject: str
    sender: str = field(repr=False)  # where a reply goes: Reply-To, else From
    to: tuple[str, ...] = field(repr=False)
    date: datetime | None
    text: str = field(repr=False)
    attachments: tuple[Attachment, ...]
    path: Path | None = None

    @property
    def key(self) -> str:
        """A stable name for the message (its Message-ID, else its file name)."""
        if self.message_id:
            return self.message_id.strip("<>")
        return self.path.stem if self.path is not None else "message"


def safe_name(name: str | None, fallback: str) -> str:
    """A file name from a sender, made harmless: last path part, plain characters."""
    raw = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    clean = _UNSAFE.sub("_", raw).strip(" ._") or fallback
    stem, dot, suffix = clean.rpartition(".")
    if dot and len(suffix) <= 10:
        return stem[: MAX_NAME - len(suffix) - 1] + "." + suffix
    return clean[:MAX_NAME]


def parse_message(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def read_message(path: Path, *, attachments_to: Path | None = None) -> MailMessage:
    """The message saved at ``path`` (an ``.eml``), its attachments written under
    ``attachments_to`` (default: ``<path>.parts/`` beside it)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the message ({exc.strerror or exc})") from None
    parsed = parse_message(data)
    folder = attachments_to or Path(str(path) + PARTS_SUFFIX)
    filemodes.make_folder(folder)
    attachments = []
    taken: set[str] = set()
    for number, part in enumerate(parsed.iter_attachments(), start=1):
        name = safe_name(part.get_filename(), f"attachment-{number}")
        if name.lower() in taken:
            name = f"{number}-{name}"
        taken.add(name.lower())
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        target = folder / name
        filemodes.write_private(target, content)
        attachments.append(Attachment(name, part.get_content_type(), len(content), target))
    return MailMessage(
        message_id=_header(parsed, "Message-ID"),
        subject=_header(parsed, "Subject") or "",
        sender=_address(parsed, "Reply-To") or _address(parsed, "From") or "",
        to=tuple(address for _, address in getaddresses(parsed.get_all("To", []))),
        date=_date(parsed),
        text=_text(parsed),
        attachments=tuple(attachments),
        path=Path(path),
    )


def _header(parsed: EmailMessage, name: str) -> str | None:
    try:
        value = parsed.get(name)
    except (ValueError, IndexError):  # a malformed header the parser cannot model
        return None
    return str(value).strip() if value is not None else None


def _address(parsed: EmailMessage, name: str) -> str | None:
    value = _header(parsed, name)
    if not value:
        return None
    found = [address for _, address in getaddresses([value]) if "@" in address]
    return found[0] if found else None


def _date(parsed: EmailMessage) -> datetime | None:
    value = _header(parsed, "Date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _text(parsed: EmailMessage) -> str:
    body = parsed.get_body(preferencelist=("plain",))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, ValueError):  # an unknown charset: the bytes as Latin-1
        payload = body.get_payload(decode=True)
        content = payload.decode("latin-1") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""
