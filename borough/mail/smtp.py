"""Sending over SMTP with the standard library: connect by security, sign in (UTF-8 safe)."""

from __future__ import annotations

import base64
import smtplib
import ssl

from borough.mail.settings import SmtpSettings


def connect(settings: SmtpSettings, *, timeout: float) -> smtplib.SMTP:
    """An open SMTP session (TLS as ``security`` says); the caller closes it."""
    port = settings.port_or_default()
    if settings.security == "ssl":
        return smtplib.SMTP_SSL(
            settings.host, port, timeout=timeout, context=ssl.create_default_context()
        )
    smtp = smtplib.SMTP(settings.host, port, timeout=timeout)
    if settings.security == "starttls":
        smtp.starttls(context=ssl.create_default_context())
    return smtp


def login(smtp: smtplib.SMTP, username: str, password: str) -> None:
    """``smtplib`` encodes credentials as ASCII; AUTH PLAIN is UTF-8 (RFC 4616), so send it
    ourselves when the password has a £ or an accent in it."""
    if (username + password).isascii():
        smtp.login(username, password)
        return
    smtp.ehlo_or_helo_if_needed()
    if "plain" not in smtp.esmtp_features.get("auth", "").lower().split():
        raise smtplib.SMTPNotSupportedError("the server offers no AUTH PLAIN (non-ASCII password)")
    token = base64.b64encode(f"\0{username}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)
