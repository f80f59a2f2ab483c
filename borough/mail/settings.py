"""``kind: mail`` keys in ``config/apps.yaml``: the IMAP server messages are read from, the
SMTP server replies go out through, the account and the secret holding its password, and
the reply templates bots send by name."""

from __future__ import annotations

import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from borough.config.models import AppConfig
from borough.errors import ConfigError

Security = Literal["ssl", "starttls", "none"]
LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class ServerSettings(_Strict):
    host: str = Field(description="the server's name or address")
    port: int | None = Field(default=None, ge=1, le=65535, description="default by security")
    security: Security = Field(
        default="ssl", description="ssl (implicit TLS), starttls, or none (localhost only)"
    )

    @model_validator(mode="after")
    def _plain_only_locally(self) -> ServerSettings:
        if self.security == "none" and self.host not in LOCAL_HOSTS:
            raise ValueError(
                f"security: none sends the password in clear; only for a server on this "
                f"machine (not {self.host!r}): use ssl or starttls"
            )
        return self


class ImapSettings(ServerSettings):
    def port_or_default(self) -> int:
        return self.port or (993 if self.security == "ssl" else 143)


class SmtpSettings(ServerSettings):
    security: Security = Field(default="starttls", description="starttls, ssl or none")

    def port_or_default(self) -> int:
        return self.port or (465 if self.security == "ssl" else 587)


class ReplyTemplate(_Strict):
    """A reply a bot sends by name: ``$case_ref`` placeholders filled from the bot's values."""

    subject: str = Field(description="e.g. 'Re: $subject'")
    text: str = Field(description="the body; placeholders as $name or ${name}")

    @field_validator("subject", "text")
    @classmethod
    def _template(cls, value: str) -> str:
        template = string.Template(value)
        if not template.is_valid():
            raise ValueError("a lone $ in the template: write $$ for a dollar sign")
        return value

    def placeholders(self) -> set[str]:
        return {
            name
            for part in (self.subject, self.text)
            for name in string.Template(part).get_identifiers()
        }


class MailSettings(_Strict):
    """A shared mailbox: read over IMAP, replies sent over SMTP, one account."""

    imap: ImapSettings | None = Field(default=None, description="where messages are read")
    smtp: SmtpSettings | None = Field(default=None, description="where replies are sent")
    username: str = Field(description="the mailbox account")
    credential: str | None = Field(default=None, description="secret holding the password")
    sender: str | None = Field(default=None, description="From: of replies (default: username)")
    folder: str = Field(default="INBOX", description="the folder messages arrive in")
    timeout_seconds: float = Field(default=30, gt=0, le=600, description="connect and reply waits")
    replies: dict[str, ReplyTemplate] = Field(
        default_factory=dict, description="name: {subject, text} templates bots reply with"
    )

    @field_validator("folder")
    @classmethod
    def _folder(cls, value: str) -> str:
        return check_folder(value)

    @model_validator(mode="after")
    def _some_server(self) -> MailSettings:
        if self.imap is None and self.smtp is None:
            raise ValueError("give imap: (to read messages), smtp: (to send replies) or both")
        return self

    @property
    def from_address(self) -> str:
        return self.sender or self.username


def check_folder(value: str) -> str:
    """IMAP folder names: printable ASCII (a folder with accents: use its ASCII name)."""
    if not value or not value.isascii() or not value.isprintable() or '"' in value:
        raise ValueError(f"{value!r}: a folder name in plain ASCII without quotes, e.g. Processed")
    return value


def mail_settings(name: str, app: AppConfig) -> MailSettings:
    """The settings of app ``name``, which must be of ``kind: mail``."""
    if app.kind != "mail":
        raise ConfigError(
            f"app {name!r} is of kind {app.kind!r}; a mailbox is an app of kind: mail"
        )
    options = {**app.options}
    if app.credential is not None:
        options["credential"] = app.credential
    try:
        return MailSettings.model_validate(options)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"app {name!r}: {where}: {first['msg']}") from None
