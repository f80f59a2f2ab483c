"""``kind: mail``: open received messages, send the templated replies of ``replies:``.

A reply is an e-mail to a resident: it goes out once the item's own work is done, after
the run's lease is proved (a fenced run sends nothing), with a Message-ID derived from the
message answered and the template, so a reply sent again after a crash carries the same
Message-ID (mail clients and servers drop the repeat) and says ``In-Reply-To`` the
original. Addresses are personal data: each one the connector touches is registered with
the run's redactor, and its audit steps name the template, never the address.
"""

from __future__ import annotations

import hashlib
import smtplib
import string
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from borough.connect import AppServices, Connector
from borough.errors import BusinessRuleError, ConfigError, ConnectorError, TransientError
from borough.mail import smtp as smtp_session
from borough.mail.message import MailMessage, read_message
from borough.mail.settings import MailSettings


class MailConnector(Connector):
    kind: ClassVar[str] = "mail"
    Settings: ClassVar[type[BaseModel]] = MailSettings

    def __init__(self, name: str, settings: MailSettings, services: AppServices) -> None:
        super().__init__(name, settings, services)
        self._password: str | None = None

    # -- reading -------------------------------------------------------------------------------
    def read(self, path: Path) -> MailMessage:
        """The message saved at ``path`` (a mailbox trigger's input), attachments saved
        beside it; its sender's address is kept out of every log of the run."""
        message = read_message(path)
        for address in (message.sender, *message.to):
            if address:
                self.services.keep_out(address)
        return message

    # -- replying ------------------------------------------------------------------------------
    def compose(
        self, message: MailMessage, template: str, values: Mapping[str, Any]
    ) -> EmailMessage:
        """The reply to ``message`` from template ``template`` of ``replies:``."""
        settings: MailSettings = self.settings
        chosen = settings.replies.get(template)
        if chosen is None:
            known = ", ".join(sorted(settings.replies)) or "(none)"
            raise ConfigError(
                f"app {self.name!r} has no reply template {template!r} under replies:; "
                f"known: {known}"
            )
        if not message.sender:
            raise BusinessRuleError("the message gives no address to reply to")
        fill = {"subject": message.subject, **{k: str(v) for k, v in values.items()}}
        missing = sorted(chosen.placeholders() - set(fill))
        if missing:
            raise ConfigError(
                f"reply template {template!r} of app {self.name!r} needs "
                f"{', '.join('$' + m for m in missing)}: pass it to reply()"
            )
        reply = EmailMessage()
        reply["From"] = settings.from_address
        reply["To"] = message.sender
        reply["Subject"] = string.Template(chosen.subject).substitute(fill)
        reply["Date"] = formatdate(localtime=False)
        reply["Message-ID"] = reply_id(message, template, settings.from_address)
        if message.message_id:
            reply["In-Reply-To"] = message.message_id
            reply["References"] = message.message_id
        reply["Auto-Submitted"] = "auto-replied"  # RFC 3834: no auto-reply loops
        reply.set_content(string.Template(chosen.text).substitute(fill))
        return reply

    def reply(self, message: MailMessage, template: str, **values: Any) -> str:
        """Send the templated reply to ``message``'s sender; its Message-ID."""
        settings: MailSettings = self.settings
        if settings.smtp is None:
            raise ConfigError(f"app {self.name!r} has no smtp: section to send replies through")
        composed = self.compose(message, template, values)
        self.services.keep_out(message.sender)
        self.services.check_lease()  # a fenced run must not write to a resident
        where = f"SMTP server {settings.smtp.host}:{settings.smtp.port_or_default()}"
        try:
            with smtp_session.connect(settings.smtp, timeout=settings.timeout_seconds) as smtp:
                if settings.credential is not None:
                    smtp_session.login(smtp, settings.username, self._secret())
                smtp.send_message(composed)
        except smtplib.SMTPRecipientsRefused as exc:
            raise BusinessRuleError(
                f"{where} refused the reply's address ({_first_reply(exc.recipients)})"
            ) from None
        except smtplib.SMTPAuthenticationError:
            raise ConnectorError(
                f"{where} refused the sign-in of the mailbox account; check its secret"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"{where}: {exc}", app=self.name, step="reply") from None
        self.services.step("reply-sent", target=self.name, template=template)
        return str(composed["Message-ID"])

    def close(self) -> None:
        """Nothing held between replies: each opens and closes its own SMTP session."""

    def _secret(self) -> str:
        if self._password is None:
            settings: MailSettings = self.settings
            assert settings.credential is not None
            self._password = self.services.secret(settings.credential)
            self.services.keep_out(self._password, secret=True)
        return self._password


def reply_id(message: MailMessage, template: str, sender: str) -> str:
    """The same reply to the same message always has the same Message-ID."""
    digest = hashlib.sha256(f"{message.key}\0{template}".encode()).hexdigest()[:32]
    domain = sender.rpartition("@")[2] or "borough.invalid"
    return f"<reply-{digest}@{domain}>"


def _first_reply(recipients: Mapping[str, Any]) -> str:
    for code, text in recipients.values():
        reply = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{code} {reply}"
    return "no reason given"
