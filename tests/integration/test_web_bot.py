"""The change-of-circumstances bot against Caseflow in real Chromium: faults, short sessions,
exactly one case per valid row, and evidence that holds no secret or personal data."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest

from borough.ledger import ItemState, RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import runtime_in
from sandbox.web import SandboxConfig, read_counts, serve_in_subprocess, serve_in_thread
from sandbox.web.data import Notification, notifications
from tests.support.evidence import clear_evidence
from tests.support.web import BOT, PASSWORD, USER, evidence_files, require_chromium, web_home

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]  # the sample: 44 s loaded


def outcome(home: Path, bot: str = BOT) -> dict[int, object]:
    """Ledger items by their input row index (0-based)."""
    with runtime_in(home) as runtime:
        items = runtime.ledger.items.list(bot=bot, limit=10_000, unseal=True)
    found = {}
    for item in items:
        number = int(re.search(r"row (\d+)$", item.source or "").group(1))  # type: ignore[union-attr]
        found[number - 2] = item
    return found


def assert_exactly_once(home: Path, store: Path, rows: list[Notification], bot: str = BOT) -> None:
    """Every valid row DONE with the app's reference, every bad row FAILED, one case each."""
    items = outcome(home, bot)
    assert len(items) == len(rows), "no row lost"
    counts = read_counts(store)
    valid = {row.key for row in rows if row.expect == "valid"}
    assert set(counts["per_change"]) == valid
    assert all(n == 1 for n in counts["per_change"].values()), "a duplicate case"
    assert counts["cases"] == len(valid)
    for index, row in enumerate(rows):
        item = items[index]
        if row.expect == "valid":
            assert item.state is ItemState.DONE, (row.why, item.state, item.error)
            assert item.reference == counts["refs"][row.key]
        else:
            assert item.state is ItemState.FAILED, (row.why, item.state)
            assert item.error, "a failed row says why"
            if row.expect == "app":
                assert item.error.startswith("the app rejected the form: "), item.error


#: Rows in the fault-and-session test. CI works 60 (every guarantee below still holds:
#: faults of each kind, saves broken after committing, sessions ended mid-run); set
#: BOROUGH_TEST_WEB_ROWS=200 for the full batch before a release.
ROWS = int(os.environ.get("BOROUGH_TEST_WEB_ROWS", "60"))


@pytest.mark.slow
@pytest.mark.timeout(300 + 3 * ROWS)
def test_a_batch_with_faults_and_short_sessions_ends_exactly_once(tmp_path: Path):
    require_chromium()
    rows = notifications(ROWS, bad_every=10, seed=4)
    valid = sum(row.expect == "valid" for row in rows)
    config = SandboxConfig(
        store=tmp_path / "caseflow.sqlite",
        users={USER: PASSWORD},
        idle_timeout=4.0,
        max_session_age=10.0,  # the batch outlives a session (60 rows take 20 s and more)
        fault_rate=0.10,
        seed=4,
        break_every_nth_save=25,  # random draws meet a broken-after-commit save only by chance
    )
    with serve_in_subprocess(config) as app:  # its own process, as a real server would be
        home = web_home(tmp_path / "home", app.url, rows)
        with runtime_in(home) as runtime:
            run = run_bot(runtime, RunRequest(BOT))
    assert run.status is RunStatus.COMPLETED_WITH_FAILURES
    assert (run.counts.done, run.counts.failed) == (valid, ROWS - valid), run.counts
    assert_exactly_once(home, config.store, rows)
    counts = read_counts(config.store)
    assert counts["logins"] >= 2, "sessions ended and the bot signed in again"
    kinds = counts["faults"]
    assert sum(kinds.values()) >= ROWS // 5 and {"error500", "truncated", "locked"} <= set(kinds)
    assert any(kind.endswith("-after") for kind in kinds), "saves broke after committing"
    assert run.counts.retried > 0


def test_bundled_sample_completes_drafts_and_leaves_finished_cases(tmp_path: Path, home: Path):
    """The demo's data: two staff drafts are completed, one finished case is left alone."""
    require_chromium()
    from sandbox.web.demo import start_demo_app

    app = start_demo_app(home, fault_rate=0.0, latency=0.0)
    try:
        with runtime_in(home) as runtime:
            runtime.secrets.set(app.secret_name, app.secret_value)
            first = run_bot(runtime, RunRequest(BOT))
            second = run_bot(runtime, RunRequest(BOT))
            done = runtime.ledger.items.list(bot=BOT, states=[ItemState.DONE], limit=100)
    finally:
        app.stop()
    counts = read_counts(app.store)
    assert first.counts.done == 25 and first.counts.failed == 6
    assert second.counts.done == 0 and second.counts.already_done == 25
    assert counts["cases"] == 25  # 22 created, 2 drafts completed, 1 found
    assert "Draft" not in counts["statuses"].values()
    seeded = {"CW-000001", "CW-000002", "CW-000003"}
    assert seeded <= {item.reference for item in done}


def test_failed_items_leave_evidence_without_secrets_or_personal_data(tmp_path: Path):
    require_chromium()
    canary_surname = "Canarywick"
    rows = notifications(8, seed=9)
    for index in (2, 5):  # valid rows the app will refuse: the account fails its check digit
        row = rows[index].row
        row["Surname"] = canary_surname
        account = row["Council Tax Account"]
        row["Council Tax Account"] = account[:-1] + str((int(account[-1]) + 1) % 10)
    config = SandboxConfig(store=tmp_path / "caseflow.sqlite", users={USER: PASSWORD})
    with serve_in_thread(config) as app:
        home = web_home(tmp_path / "home", app.url, rows, app={"trace": "full"})
        with runtime_in(home) as runtime:
            run = run_bot(runtime, RunRequest(BOT))
    assert run.counts.failed == 2 and run.counts.done == 6
    files = evidence_files(home)
    clear = clear_evidence(home)
    by_item: dict[str, set[str]] = {}
    for path in files:
        by_item.setdefault(path.parent.name, set()).add(path.name.split("-", 2)[-1])
    assert len(by_item) == 2, "evidence for each failed item"
    for names in by_item.values():
        assert {"window.png", "window.html", "trace.zip"} <= names
    # a trace chunk starts with the pages the previous item (rows 1 and 4) left behind
    canaries = [PASSWORD, canary_surname, rows[2].row["NI Number"].replace(" ", "")]
    canaries += [rows[i].row[c] for i in (1, 4) for c in ("Surname", "Forenames")]
    for path in files:
        assert PASSWORD.encode() not in path.read_bytes()  # sealed: nothing readable at all
        for text in _texts(path, clear[path]):
            for canary in canaries:
                assert canary not in text, f"{canary!r} in {path.name}"
    trace = next(p for p in files if p.name.endswith("trace.zip"))
    with zipfile.ZipFile(io.BytesIO(clear[trace])) as archive:
        names = archive.namelist()
        actions = archive.read("trace.trace").decode("utf-8")
    assert "trace.trace" in names and "trace.network" in names
    assert not any(n.endswith((".jpeg", ".jpg", ".png")) for n in names)
    assert '"selector":"#txtSurname"' in actions, "the trace shows the surname being typed"
    others = [row.row["Claim Ref"] for i, row in enumerate(rows) if i not in (1, 2, 4, 5)]
    for path in (p for p in files if p.name.endswith("trace.zip")):
        with zipfile.ZipFile(io.BytesIO(clear[path])) as archive:
            text = "".join(archive.read(n).decode("utf-8") for n in archive.namelist())
        assert not [claim for claim in others if claim in text], "one item per trace"
        assert rows[2].row["Claim Ref"] in text or rows[5].row["Claim Ref"] in text
    html = clear[next(p for p in files if p.name.endswith("window.html"))].decode("utf-8")
    assert 'id="txtSurname" name="txtSurname" size="30" value="[' in html, "scrubbed, not gone"


def _texts(path: Path, data: bytes) -> list[str]:
    """Every text inside an evidence file (zip members one by one, all spellings decoded)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            blobs = [archive.read(name) for name in archive.namelist()]
    else:
        blobs = [data]
    from urllib.parse import unquote_plus

    texts = []
    for blob in blobs:
        text = blob.decode("utf-8", "replace")
        unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
        texts += [text, unquote_plus(text), unescaped]
    return texts
