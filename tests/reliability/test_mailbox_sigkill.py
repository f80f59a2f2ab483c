"""100 messages with attachments while the scheduler is killed -9 and restarted: each
message processed once, every row written once, a malformed attachment a FAILED item with
its reason, every message moved to Processed. (``BOROUGH_TEST_MESSAGES=N`` sends N.)"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest

from borough.audit.reading import iter_records
from borough.ledger import ItemState, RunStatus
from borough.testing import counted_writes, runtime_in
from tests.integration.test_mailbox_trigger import SENDER, failed_items, xlsx_rows
from tests.support.events import (
    events_home,
    kill_and_restart_at,
    mailbox_app,
    rows_csv,
    runs_of,
    start_scheduler,
)
from tests.support.imap import ImapServer, form_message
from tests.support.scheduling import wait_for

MESSAGES = int(os.environ.get("BOROUGH_TEST_MESSAGES", "100"))
ROWS = 2
BROKEN_EVERY = 10

pytestmark = [pytest.mark.imap, pytest.mark.slow, pytest.mark.timeout(900)]


def refs(number: int, part: int) -> list[int]:
    return [(number * 2 + part) * ROWS + row for row in range(ROWS)]


def message(number: int) -> object:
    """Two attachments (CSV and Excel, alternately); every tenth has a damaged workbook
    instead of its second attachment."""
    attachments = [(f"form-{number}.csv", rows_csv(refs(number, 0)))]
    if number % BROKEN_EVERY == 0:
        attachments.append((f"scan-{number}.xlsx", b"PK\x03\x04 damaged in transit"))
    elif number % 2:
        attachments.append((f"extra-{number}.xlsx", xlsx_rows(refs(number, 1))))
    else:
        attachments.append((f"extra-{number}.csv", rows_csv(refs(number, 1))))
    return form_message(number, attachments, sender=SENDER)


def send_in_bursts(server: ImapServer, rng: random.Random) -> None:
    number = 0
    while number < MESSAGES:
        for _ in range(min(rng.randint(5, 20), MESSAGES - number)):
            server.append(message(number))  # type: ignore[arg-type]
            number += 1
        time.sleep(rng.uniform(0.2, 1.5))


def test_each_message_processed_once_across_kill_9(tmp_path: Path, imap_server: ImapServer):
    rng = random.Random(17)
    home = events_home(
        tmp_path,
        {
            "forms": {
                "bot": "mail-bot",
                "mailbox": {"app": "inbox"},
                "max_runs": 2,
                "poll_seconds": 0.3,
            }
        },
        bots={"mail-bot": {}},
        apps={
            "counting": {"kind": "borough.testing:CountingTarget", "path": "var/target.sqlite"},
            "inbox": mailbox_app(imap_server),
        },
        scheduler={"max_concurrent_runs": 2},
    )
    with runtime_in(home) as runtime:
        runtime.secrets.set("inbox", imap_server.password)
    scheduler = [start_scheduler(home, "first")]
    try:
        sender = threading.Thread(target=send_in_bursts, args=(imap_server, rng))
        sender.start()
        kills = kill_and_restart_at(
            home,
            scheduler,
            lambda f: len(runs_of(home, "forms")) >= int(MESSAGES * f),
            rng,
            "messages",
        )
        sender.join()
        wait_for(
            lambda: imap_server.count("Processed") == MESSAGES,
            600,
            "every message processed",
        )
    finally:
        scheduler[0].send_signal(signal.SIGTERM)
        scheduler[0].wait(60)
    assert kills == 2
    assert imap_server.count("INBOX") == 0 and imap_server.count("Rejected") == 0
    processed = imap_server.message_ids("Processed")
    assert len(set(processed)) == MESSAGES, "each message moved once"
    runs = runs_of(home, "forms")
    assert len(runs) == MESSAGES, "each message started exactly one run"
    assert len({(r.detail["event"]["uidvalidity"], r.detail["event"]["uid"]) for r in runs}) == (
        MESSAGES
    )
    broken = MESSAGES // BROKEN_EVERY + (1 if MESSAGES % BROKEN_EVERY else 0)
    statuses = [r.status for r in runs]
    assert statuses.count(RunStatus.COMPLETED_WITH_FAILURES) == broken
    assert statuses.count(RunStatus.SUCCEEDED) == MESSAGES - broken
    expected = {f"R{ref}" for n in range(MESSAGES) for ref in refs(n, 0)}
    expected |= {f"R{ref}" for n in range(MESSAGES) if n % BROKEN_EVERY for ref in refs(n, 1)}
    assert counted_writes(home / "var/target.sqlite") == dict.fromkeys(expected, 1)
    failed = failed_items(home)
    assert len(failed) == broken
    assert all(
        (i.error or "").startswith("attachment scan-") and "cannot be read" in (i.error or "")
        for i in failed
    )
    assert all(i.state is ItemState.FAILED for i in failed)
    fired = [r for r in iter_records(home / "logs/audit") if r["action"] == "trigger.fired"]
    assert len(fired) == MESSAGES
    assert not list((home / "var/mail/forms").glob("*.eml")), "saved copies removed"
