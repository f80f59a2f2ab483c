"""Mailbox triggers against a real IMAP server (dovecot) with a real scheduler and real runs:
each message once, attachments as items, a malformed attachment a FAILED item with its
reason, every message moved on, no address in the logs or the trail."""

from __future__ import annotations

import io
import os
from pathlib import Path

import openpyxl
import pytest

from borough.audit.reading import iter_records
from borough.ledger import ItemRecord, ItemState, RunStatus, Sealer, open_ledger
from borough.testing import counted_writes, runtime_in
from scheduler.service import SchedulerService
from tests.support.events import events_home, mailbox_app, rows_csv, runs_of
from tests.support.imap import ImapServer, form_message
from tests.support.scheduling import child_env, wait_for

pytestmark = [pytest.mark.imap, pytest.mark.timeout(240)]

SENDER = "jo.bloggs{n}@resident.example.org"


def xlsx_rows(refs: list[int]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Ref", "Name", "Email", "Amount"])
    for ref in refs:
        sheet.append([f"R{ref}", f"Person {ref}", "", ref])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def mailbox_home(
    tmp_path: Path, server: ImapServer, *, bot: dict[str, object] | None = None, **trigger: object
) -> Path:
    home = events_home(
        tmp_path,
        {
            "forms": {
                "bot": "mail-bot",
                "mailbox": {"app": "inbox"},
                "max_runs": 2,
                "poll_seconds": 0.3,
                **trigger,
            }
        },
        bots={"mail-bot": bot or {}},
        apps={
            "counting": {"kind": "borough.testing:CountingTarget", "path": "var/target.sqlite"},
            "inbox": mailbox_app(server),
        },
    )
    with runtime_in(home) as runtime:
        runtime.secrets.set("inbox", server.password)
    return home


def failed_items(home: Path) -> list[ItemRecord]:
    ledger = open_ledger(f"sqlite:///{home / 'var/ledger.sqlite'}", Sealer(os.urandom(32)))
    try:
        return ledger.items.list(bot="mail-bot", states=[ItemState.FAILED], limit=1000)
    finally:
        ledger.close()


def test_each_message_once_with_attachments_as_items(tmp_path: Path, imap_server: ImapServer):
    home = mailbox_home(tmp_path, imap_server)
    first = form_message(1, [("a.csv", rows_csv([1, 2]))], sender=SENDER)
    imap_server.append(first)
    imap_server.append(form_message(2, [("Form B.xlsx", xlsx_rows([3]))], sender=SENDER))
    imap_server.append(
        form_message(
            3,
            [("broken.xlsx", b"PK\x03\x04 not really a workbook"), ("c.csv", rows_csv([4]))],
            sender=SENDER,
        )
    )
    # the same message delivered twice (sent to two addresses that both land here)
    imap_server.append(
        form_message(1, [("a.csv", rows_csv([1, 2]))], message_id=first["Message-ID"])
    )
    imap_server.append(form_message(5, [], sender=SENDER))  # no attachment at all

    with runtime_in(home) as runtime:
        service = SchedulerService(runtime, env=child_env(home))
        service.start()
        try:
            wait_for(
                lambda: imap_server.count("Processed") == 4 and imap_server.count("Rejected") == 1,
                120,
                "four messages processed and the duplicate rejected",
            )
        finally:
            service.stop()

    assert imap_server.count("INBOX") == 0
    runs = runs_of(home, "forms")
    assert len(runs) == 4, "one run per distinct message"
    assert all(r.trigger == "event:mailbox:forms" for r in runs)
    assert counted_writes(home / "var/target.sqlite") == {f"R{i}": 1 for i in range(1, 5)}
    statuses = sorted(r.status.value for r in runs)
    assert statuses == ["completed_with_failures"] * 2 + ["succeeded"] * 2
    reasons = sorted(i.error or "" for i in failed_items(home))
    assert len(reasons) == 2
    assert reasons[0].startswith("attachment broken.xlsx cannot be read:"), reasons
    assert "no CSV or Excel attachment" in reasons[1]
    assert imap_server.message_ids("Rejected") == [first["Message-ID"]]
    assert not list((home / "var/mail/forms").glob("*.eml")), "saved copies removed"

    records = list(iter_records(home / "logs/audit"))
    fired = [r for r in records if r["action"] == "trigger.fired"]
    assert {r["run_id"] for r in fired} == {r.id for r in runs}
    assert all(r["detail"]["kind"] == "mailbox" for r in fired)
    assert len([r for r in records if r["action"] == "trigger.mail.processed"]) == 4
    duplicate = [r for r in records if r["action"] == "trigger.mail.duplicate"]
    assert len(duplicate) == 1 and "same Message-ID" in duplicate[0]["error"]

    # addresses are personal data: in no log line and no audit record
    texts = [p.read_text(errors="replace") for p in (home / "logs").rglob("*") if p.is_file()]
    assert texts
    for text in texts:
        assert "resident.example.org" not in text
        assert "jo.bloggs" not in text


def test_a_run_that_fails_rejects_its_message(tmp_path: Path, imap_server: ImapServer):
    """A message whose run FAILED (here: the bot refuses to start) goes to
    Rejected with the run's error in the audit trail; nothing stays in the folder."""
    home = mailbox_home(tmp_path, imap_server, bot={"refuse": True}, max_runs=1)
    imap_server.append(form_message(1, [("a.csv", rows_csv([1]))], sender=SENDER))
    with runtime_in(home) as runtime:
        service = SchedulerService(runtime, env=child_env(home))
        service.start()
        try:
            wait_for(lambda: imap_server.count("Rejected") == 1, 120, "the message rejected")
        finally:
            service.stop()
    runs = runs_of(home, "forms")
    assert [r.status for r in runs] == [RunStatus.FAILED]
    rejected = [
        r for r in iter_records(home / "logs/audit") if r["action"] == "trigger.mail.rejected"
    ]
    assert len(rejected) == 1 and rejected[0]["run_id"] == runs[0].id
    assert imap_server.count("INBOX") == 0 and imap_server.count("Processed") == 0
