"""Email notices over SMTP (plain, STARTTLS or SSL); the password is a secret reference."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import ClassVar

from borough.mail.smtp import login
from borough.secrets import SecretStore
from scheduler.config import EmailChannel
from scheduler.notify.base import Notice, Notifier


class SmtpNotifier(Notifier):
    kind: ClassVar[str] = "email"

    def __init__(self, channel: EmailChannel, secrets: SecretStore) -> None:
        self.channel = channel
        self.secrets = secrets

    def describe(self) -> str:
        return f"email to {len(self.channel.to)} address(es) via {self.channel.host}"

    def message(self, notice: Notice) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = notice.subject
        message["From"] = self.channel.sender
        message["To"] = ", ".join(self.channel.to)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.channel.sender.rpartition("@")[2] or None)
        message.set_content(notice.text())
        return message

    def send(self, notice: Notice) -> None:
        channel = self.channel
        smtp_class = smtplib.SMTP_SSL if channel.ssl else smtplib.SMTP
        with smtp_class(channel.host, channel.port, timeout=channel.timeout_seconds) as smtp:
            if channel.starttls and not channel.ssl:
                smtp.starttls()
            if channel.username:
                password = (
                    self.secrets.get(channel.password_secret) if channel.password_secret else ""
                )
                login(smtp, channel.username, password)
            smtp.send_message(self.message(notice))
