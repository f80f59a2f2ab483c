"""A message's CSV and Excel attachments as work items, none lost.

Each data row of each table attachment is an item (an invalid row a FAILED item with its
problems, as for any input file). An attachment that cannot be read at all — damaged,
not really a spreadsheet, missing a column — becomes one FAILED item whose reason says
which attachment and why, so the message's other attachments still go through and the
failure is there to resolve. A message with no table attachment at all is one FAILED
item too: somebody must look at it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import TypeVar

from pydantic import BaseModel

from borough.bot import Item
from borough.errors import InputError
from borough.mail.message import MailMessage
from connectors.files import EXCEL_SUFFIXES, read_table

M = TypeVar("M", bound=BaseModel)
TABLE_SUFFIXES = frozenset({".csv", *EXCEL_SUFFIXES})


def message_ref(message: MailMessage) -> str:
    """A short stable name of the message for item keys (the Message-ID may name a person)."""
    return "mail-" + hashlib.sha256(message.key.encode()).hexdigest()[:12]


def attachment_items(
    message: MailMessage,
    schema: type[M],
    *,
    key: str | Callable[[M], str],
    key_column: str | None = None,
) -> Iterator[Item[M]]:
    """Items from every CSV/Excel attachment of ``message`` (others are left alone)."""
    tables = [a for a in message.attachments if a.suffix in TABLE_SUFFIXES]
    ref = message_ref(message)
    if not tables:
        names = ", ".join(a.name for a in message.attachments) or "none"
        yield Item(
            key=f"{ref}/no-attachment",
            source=ref,
            invalid=f"the message has no CSV or Excel attachment (attachments: {names})",
        )
        return
    for attachment in tables:
        try:
            for row in read_table(attachment.path, schema):
                yield row.to_item(key, key_column=key_column)
        except InputError as exc:
            yield Item(
                key=f"{ref}/{attachment.name}",
                source=f"{ref} attachment {attachment.name}",
                invalid=f"attachment {attachment.name} cannot be read: {_short(exc)}",
            )


def _short(exc: InputError) -> str:
    """The error without the saved copy's folder (the attachment's name says enough)."""
    text = str(exc)
    marker = ".parts/"
    while marker in text:
        start = text.rfind(" ", 0, text.index(marker)) + 1
        text = text[:start] + text[text.index(marker) + len(marker) :]
    return text
