"""Mail: read a received message and its attachments into items, send templated replies.

``kind: mail`` in ``config/apps.yaml`` (IMAP to read, SMTP to send, one account whose
password is a secret). A ``mailbox:`` trigger hands each new message to a run as an
``.eml`` input; :func:`read_message` opens it, :func:`attachment_items` turns its CSV and
Excel attachments into items (a malformed attachment into one FAILED item with its
reason), :meth:`MailConnector.reply` answers the sender.
"""

from __future__ import annotations

from borough.mail.message import Attachment, MailMessage, read_message
from borough.mail.settings import MailSettings
from connectors.mail.connector import MailConnector
from connectors.mail.items import TABLE_SUFFIXES, attachment_items

__all__ = [
    "TABLE_SUFFIXES",
    "Attachment",
    "MailConnector",
    "MailMessage",
    "MailSettings",
    "attachment_items",
    "read_message",
]
