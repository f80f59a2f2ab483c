"""The mail connector: messages and attachments read safely, replies templated and sent
once under the lease through a real SMTP server, addresses kept out of logs, clear errors."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from borough.config.models import AppConfig
from borough.connect import AppServices
from borough.errors import ConfigError, ConnectorError, RunFencedError
from borough.mail.settings import MailSettings, mail_settings
from connectors.mail import MailConnector, attachment_items, read_message
from tests.support.imap import ImapServer, form_message
from tests.support.receivers import smtp_server

PASSWORD = "s3cret £ mail"  # what tests.support.receivers accepts (not ASCII: AUTH PLAIN)


class Row(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    ref: str = Field(alias="Ref", pattern=r"^R\d+$")
    amount: int = Field(alias="Amount")


def save(tmp_path: Path, message: EmailMessage) -> Path:
    path = tmp_path / "message.eml"
    path.write_bytes(message.as_bytes())
    return path


def services(steps: list, kept: list, *, fenced: bool = False) -> AppServices:
    def check_lease() -> None:
        if fenced:
            raise RunFencedError("run X stopped itself: it was silent for 9.0 s")

    return AppServices(
        secret=lambda name: PASSWORD,
        capture=lambda *a, **k: None,
        step=lambda *a, **k: steps.append((a, k)),
        home=Path("/nonexistent"),
        run_folder=Path("/nonexistent"),
        check_lease=check_lease,
        keep_out=lambda value, secret=False: kept.append((value, secret)),
    )


def connector(port: int, steps: list, kept: list, *, fenced: bool = False) -> MailConnector:
    settings = MailSettings.model_validate(
        {
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none"},
            "username": "benefits@council.example.gov.uk",
            "credential": "inbox",
            "replies": {
                "received": {
                    "subject": "Re: $subject",
                    "text": "We have your form. Your case is $case_ref.\n",
                }
            },
        }
    )
    return MailConnector("inbox", settings, services(steps, kept, fenced=fenced))


def test_attachments_are_saved_under_safe_names_and_become_items(tmp_path: Path):
    message = form_message(
        1,
        [
            ("../../etc/cron.d/evil.csv", b"Ref,Amount\nR1,5\nbad,x\n"),
            ("C:\\Users\\jo\\form.csv", b"Ref,Amount\nR2,6\n"),
            ("form.csv", b"Ref,Amount\nR3,7\n"),  # same name as the one before
            ("damaged.xlsx", b"PK\x03\x04 nope"),
            ("missing-column.csv", b"Ref\nR9\n"),
            ("photo.jpg", b"\xff\xd8\xff"),
        ],
    )
    read = read_message(save(tmp_path, message))
    parts = tmp_path / "message.eml.parts"
    assert sorted(p.name for p in parts.iterdir()) == sorted(a.name for a in read.attachments)
    assert [a.name for a in read.attachments][:3] == ["evil.csv", "form.csv", "3-form.csv"]
    assert not (tmp_path / "etc").exists()
    assert oct(parts.stat().st_mode & 0o777) == "0o700"
    items = list(attachment_items(read, Row, key="ref", key_column="Ref"))
    assert [i.key for i in items if i.valid] == ["R1", "R2", "R3"]
    invalid = {i.key.split("/", 1)[-1]: i.invalid for i in items if not i.valid}
    assert "bad" in invalid and "Amount: Input should be a valid integer" in (invalid["bad"] or "")
    assert (invalid["damaged.xlsx"] or "").startswith("attachment damaged.xlsx cannot be read:")
    assert "missing column(s) 'Amount'" in (invalid["missing-column.csv"] or "")
    assert ".parts" not in (invalid["missing-column.csv"] or ""), "no saved-copy path in reasons"
    assert "resident1" not in repr(read), "addresses are not in the message's repr"


def test_a_message_without_tables_is_one_failed_item(tmp_path: Path):
    read = read_message(save(tmp_path, form_message(2, [("photo.jpg", b"\xff\xd8")])))
    [item] = attachment_items(read, Row, key="ref")
    assert not item.valid
    assert "no CSV or Excel attachment (attachments: photo.jpg)" in (item.invalid or "")


def test_a_reply_is_templated_threaded_and_sent_once_signed_in(tmp_path: Path):
    steps: list = []
    kept: list = []
    original = form_message(3, [], sender="Jo Bloggs <jo.bloggs@resident.example.org>")
    with smtp_server() as box:
        mail = connector(box.port, steps, kept)
        message = mail.read(save(tmp_path, original))
        sent_id = mail.reply(message, "received", case_ref="CW-000123")
        again = mail.reply(message, "received", case_ref="CW-000123")
    assert sent_id == again, "a reply sent again carries the same Message-ID"
    assert box.logins == [("benefits@council.example.gov.uk", PASSWORD)] * 2
    reply = box.messages[0]
    assert reply["To"] == "jo.bloggs@resident.example.org"
    assert reply["Subject"] == f"Re: {original['Subject']}"
    assert reply["In-Reply-To"] == original["Message-ID"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert "Your case is CW-000123." in reply.get_payload()
    assert ("jo.bloggs@resident.example.org", False) in kept, "the address is kept out of logs"
    assert (PASSWORD, True) in kept
    recorded = [k for _, k in steps]
    assert recorded == [{"target": "inbox", "template": "received"}] * 2
    assert "resident.example.org" not in repr(steps)


def test_a_fenced_run_sends_no_reply(tmp_path: Path):
    with smtp_server() as box:
        mail = connector(box.port, [], [], fenced=True)
        message = mail.read(save(tmp_path, form_message(4, [])))
        with pytest.raises(RunFencedError):
            mail.reply(message, "received", case_ref="CW-1")
    assert box.messages == [] and box.logins == []


def test_reply_errors_name_the_template_and_what_is_missing(tmp_path: Path):
    mail = connector(9, [], [])
    message = mail.read(save(tmp_path, form_message(5, [])))
    with pytest.raises(ConfigError, match=r"no reply template 'thanks'.*known: received"):
        mail.reply(message, "thanks")
    with pytest.raises(ConfigError, match=r"needs \$case_ref"):
        mail.reply(message, "received")


def test_mail_settings_refuse_plain_text_off_this_machine_and_wrong_kinds():
    with pytest.raises(ValueError, match="security: none sends the password in clear"):
        MailSettings.model_validate(
            {"imap": {"host": "mail.council.gov.uk", "security": "none"}, "username": "x"}
        )
    with pytest.raises(ValueError, match="lone \\$"):
        MailSettings.model_validate(
            {
                "smtp": {"host": "localhost"},
                "username": "x",
                "replies": {"r": {"subject": "cost $", "text": "t"}},
            }
        )
    with pytest.raises(ConfigError, match="a mailbox is an app of kind: mail"):
        mail_settings("casework", AppConfig(kind="web"))
    settings = mail_settings(
        "inbox", AppConfig.model_validate({"kind": "mail", "imap": {"host": "h"}, "username": "u"})
    )
    assert settings.imap is not None and settings.imap.port_or_default() == 993


@pytest.mark.imap
def test_the_imap_client_names_server_and_account_problems_without_the_password(
    imap_server: ImapServer,
):
    from borough.mail.imap import ImapMailbox
    from borough.mail.settings import ImapSettings

    imap = ImapSettings(host=imap_server.host, port=imap_server.port, security="none")
    with pytest.raises(ConnectorError) as refused:
        ImapMailbox(imap, imap_server.user, "wrong £ password")
    assert "refused the sign-in" in str(refused.value)
    assert "wrong" not in str(refused.value)
    closed = ImapSettings(host="127.0.0.1", port=9, security="none")
    with pytest.raises(ConnectorError, match=r"IMAP server 127.0.0.1:9: cannot connect"):
        ImapMailbox(closed, "u", "p")
    box = ImapMailbox(imap, imap_server.user, imap_server.password)
    try:
        imap_server.append(form_message(6, []))
        validity = box.select("INBOX")
        [uid] = box.uids()
        box.ensure_folder("Processed")
        box.ensure_folder("Processed")  # twice: fine
        assert box.move(uid, "Processed") is True
        assert box.move(uid, "Processed") is False, "already moved: not there"
        assert box.select("INBOX") == validity and box.uids() == []
    finally:
        box.close()
    assert imap_server.count("Processed") == 1
