"""Anchors in the ledger (SQLite and PostgreSQL) and kept by an auditor, end to end.

A bot run leaves signed anchors in the ledger; `audit verify` catches a trail rolled back
below them; `audit anchor` prints a line that `audit verify --anchors` holds the trail
against even when the ledger's anchors were deleted too.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from typer.testing import CliRunner

from borough.audit.anchors import Anchor, AnchorKind, parse_anchor
from borough.audit.keys import AuditKeys
from borough.cli import app
from borough.errors import AuditError, LedgerError
from borough.host import host_name
from borough.ledger import Ledger, Sealer, open_ledger
from borough.ledger.anchors import read_anchors
from borough.ledger.schema import audit_anchors
from borough.ledger.schema import runs as runs_table
from borough.testing import home_env, runtime_in
from tests.support.installs import counting_home, people
from tests.support.postgres import LEDGER_STORES
from tests.support.tamper import KEY

runner = CliRunner()
KEYS = AuditKeys.from_signing_key(KEY)


@pytest.fixture(params=LEDGER_STORES)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = open_ledger(url, Sealer(secrets.token_bytes(32)))
    yield store
    store.close()


def anchor(seq: int, kind: AnchorKind = "checkpoint", trail: str = "rpa-1") -> Anchor:
    ts = f"2026-11-0{seq % 9 + 1}T09:00:00.000000Z"
    return Anchor(trail, seq, f"{seq:064x}", ts, kind).signed(KEYS)


def test_anchors_are_kept_per_trail_and_only_move_forward(ledger: Ledger):
    book = ledger.anchors
    assert book.latest("rpa-1") is None
    for seq in (5, 10, 10):
        book.record(anchor(seq))
    book.record(anchor(7, trail="rpa-2"))
    latest = book.latest("rpa-1")
    assert latest is not None and latest.seq == 10 and latest.signature_ok(KEYS)
    assert [a.seq for a in book.since_restart("rpa-1")] == [5, 10]
    with pytest.raises(LedgerError, match="older than the latest"):
        book.record(anchor(9))
    with pytest.raises(LedgerError, match="two different audit anchors for record 10"):
        book.record(Anchor("rpa-1", 10, "f" * 64, "t", "checkpoint").signed(KEYS))


def test_a_restart_begins_a_new_run_of_anchors(ledger: Ledger):
    book = ledger.anchors
    book.record(anchor(200))
    book.record(anchor(1, kind="restart"))
    book.record(anchor(5))
    assert [(a.seq, a.kind) for a in book.since_restart("rpa-1")] == [
        (1, "restart"),
        (5, "checkpoint"),
    ]


def test_read_only_reading_needs_no_keys_and_tolerates_an_older_ledger(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    assert read_anchors(url, "rpa-1") == []  # no table yet: an older ledger
    store = open_ledger(url, Sealer(secrets.token_bytes(32)))
    store.anchors.record(anchor(5))
    store.close()
    assert [a.seq for a in read_anchors(url, "rpa-1")] == [5]


@pytest.mark.parametrize("text", ["12", "x:" + "0" * 64, '{"anchor":"other"}', "5:" + "g" * 64])
def test_an_unreadable_kept_anchor_is_a_clear_error(text: str):
    with pytest.raises(AuditError, match="give SEQ:HASH"):
        parse_anchor(text)


# -- end to end through the CLI ----------------------------------------------------------------
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = counting_home(tmp_path / "home", people(12), borough={"audit": {"checkpoint_every": 10}})
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    return home


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_a_run_leaves_anchors_and_verify_holds_the_trail_to_them(home: Path):
    audit = home / "logs/audit"
    assert invoke("run", "counting-bot").exit_code == 0
    backup = {name: (audit / name).read_bytes() for name in ("audit.jsonl", "audit.head")}
    assert invoke("run", "counting-bot").exit_code == 0
    with runtime_in(home) as runtime:
        anchors = runtime.ledger.anchors.since_restart(host_name())
    assert anchors and anchors[-1].seq > 10
    ok = invoke("audit", "verify")
    assert ok.exit_code == 0 and f"held against {len(anchors)} anchor(s)" in ok.output
    for name, data in backup.items():  # restore an older, self-consistent trail and head
        (audit / name).write_bytes(data)
    with runtime_in(home) as runtime, runtime.ledger.engine.begin() as conn:
        conn.execute(update(runs_table).values(audit_seq_end=None))
    rolled = invoke("audit", "verify")
    assert rolled.exit_code == 4, rolled.output
    assert "TAMPERED truncated" in rolled.output and "the ledger's signed anchor" in rolled.output
    refused = invoke("run", "counting-bot")
    assert refused.exit_code == 3, refused.output
    assert "the ledger holds a signed anchor for record" in refused.output


def test_a_kept_anchor_catches_a_rollback_of_trail_and_ledger_together(home: Path, tmp_path: Path):
    audit = home / "logs/audit"
    assert invoke("run", "counting-bot").exit_code == 0
    saved = tmp_path / "saved"
    shutil.copytree(home, saved)
    assert invoke("run", "counting-bot").exit_code == 0
    printed = invoke("audit", "anchor")
    assert printed.exit_code == 0
    kept = tmp_path / "kept-anchors.txt"
    kept.write_text("# e-mailed to the auditor\n" + printed.stdout)
    assert invoke("audit", "verify", "--anchors", str(kept)).exit_code == 0
    # the attacker restores trail, head and ledger from the earlier copy
    for name in ("audit.jsonl", "audit.head"):
        shutil.copy(saved / "logs/audit" / name, audit / name)
    shutil.copy(saved / "var/ledger.sqlite", home / "var/ledger.sqlite")
    assert invoke("audit", "verify").exit_code == 0  # nothing on the machine can tell
    caught = invoke("audit", "verify", "--anchors", str(kept))
    assert caught.exit_code == 4
    assert "an anchor kept elsewhere says record" in caught.output
    seq = parse_anchor(printed.stdout.strip()).seq
    digest = parse_anchor(printed.stdout.strip()).hash
    by_hand = invoke("audit", "verify", "--anchor", f"{seq}:{digest}")
    assert by_hand.exit_code == 4


def test_a_bad_anchor_argument_is_a_usage_error(home: Path):
    result = invoke("audit", "verify", "--anchor", "twelve")
    assert result.exit_code == 2 and "give SEQ:HASH" in result.output


def test_public_key_verification_uses_the_ledger_anchors_too(home: Path, tmp_path: Path):
    assert invoke("run", "counting-bot").exit_code == 0
    key = tmp_path / "audit.pub"
    key.write_text(invoke("audit", "public-key").output)
    assert invoke("audit", "verify", "--public-key", str(key)).exit_code == 0
    with runtime_in(home) as runtime, runtime.ledger.engine.begin() as conn:
        conn.execute(delete(audit_anchors).where(audit_anchors.c.seq < 5))
        conn.execute(update(audit_anchors).values(hash="0" * 64))
    tampered = invoke("audit", "verify", "--public-key", str(key))
    assert tampered.exit_code == 4 and "does not carry a valid signature" in tampered.output


def test_a_lost_trail_takes_the_break_glass_restart_and_verifies_after(home: Path):
    assert invoke("run", "counting-bot").exit_code == 0
    audit = home / "logs/audit"
    for name in ("audit.jsonl", "audit.head"):
        (audit / name).unlink()
    refused = invoke("run", "counting-bot")
    # Rich wraps the message at the terminal width, so the hint may span lines
    assert refused.exit_code == 3 and "borough audit restart" in " ".join(refused.output.split())
    assert invoke("audit", "restart", "--reason", "disk replaced").exit_code != 0  # not confirmed
    assert (audit / "audit.jsonl").read_bytes() == b""
    restarted = invoke("audit", "restart", "--reason", "disk replaced", "--yes")
    assert restarted.exit_code == 0, restarted.output
    assert "its last anchor was record" in restarted.output
    assert invoke("run", "counting-bot").exit_code == 0
    verified = invoke("audit", "verify")
    assert verified.exit_code == 0, verified.output
    again = invoke("audit", "restart", "--reason", "again", "--yes")
    assert again.exit_code == 3 and "nothing to restart" in again.output
