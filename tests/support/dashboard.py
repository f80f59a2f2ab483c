"""A dashboard installation with real runs, items in every interesting state, evidence and
accounts; a controllable clock; a uvicorn server in a thread for browser tests."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI

from borough.cli._schedule_control import SchedulerControl
from borough.config.models import DashboardSettings
from borough.dashboard.app import create_app
from borough.dashboard.serve import server
from borough.dashboard.state import Dashboard
from borough.ledger import ItemState, NewItem, RunStatus
from borough.runner import RunRequest, run_bot
from borough.runtime import Runtime
from borough.testing import runtime_in
from scheduler.operate import Operator
from tests.support.installs import counting_home, people

PASSWORD = "correct horse battery"
#: Accounts every seeded installation has: name -> roles.
ACCOUNTS = {
    "olivia": ["operator"],
    "oscar": ["operator"],
    "audrey": ["auditor"],
    "adam": ["admin"],
}
# A tiny but valid PNG (1x1, white) for screenshot evidence.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763"
    "f8ffff3f0005fe02fea7d6a0b90000000049454e44ae426082"
)
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
SCHEDULES = """\
schedules:
  nightly-counting:
    bot: counting-bot
    description: people.csv into the counting target
    daily: "02:30"
  weekly-counting:
    bot: counting-bot
    cron: "0 6 * * mon"
    calendar: england-and-wales
"""


class Clock:
    """Real time plus an offset a test can move forward (session expiry, lockouts); frozen,
    only the test moves it (a wait computed to the second must not see a loaded machine's
    real seconds go by)."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.frozen: datetime | None = None

    def __call__(self) -> datetime:
        return (self.frozen or datetime.now(UTC)) + self.offset

    def freeze(self) -> None:
        self.frozen = datetime.now(UTC)

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class Seeded:
    home: Path
    run_id: str
    failed_id: int  # FAILED by a business rule (retry target)
    review_id: int  # NEEDS_REVIEW with screenshot and trace evidence
    review2_id: int  # a second NEEDS_REVIEW item (four-eyes tests)
    evidence_png: str  # relative to logs/evidence
    evidence_zip: str
    missed_id: str
    queued_id: str


def seed(tmp_path: Path) -> Seeded:
    """Five rows through the real counting bot, then review items, evidence and odd runs."""
    from borough.testing import runtime_in

    rows = people(5, bad_every=5)
    rows[0]["Amount"] = 999  # R0001 breaks a business rule -> FAILED
    home = counting_home(tmp_path, rows)
    (home / "config" / "schedules.yaml").write_text(SCHEDULES, encoding="utf-8")
    with runtime_in(home) as runtime:
        Operator(runtime, actor="user:setup").sync()  # as `borough schedules sync` does
        run = run_bot(runtime, RunRequest(bot="counting-bot"))
        failed = next(
            i
            for i in runtime.ledger.items.list(states=[ItemState.FAILED])
            if "over the limit" in (i.error or "")
        )
        review, review2, png, zipped = _needs_review(runtime, run.id)
        missed = runtime.ledger.runs.create(
            "counting-bot",
            "1.0.0",
            trigger="schedule",
            status=RunStatus.MISSED,
            schedule="nightly-counting",
            fire_time=datetime.now(UTC) - timedelta(hours=3),
        )
        runtime.ledger.runs.finish(missed.id, RunStatus.MISSED, error="scheduler was down")
        queued = runtime.ledger.runs.create(
            "counting-bot",
            "1.0.0",
            trigger="schedule",
            status=RunStatus.QUEUED,
            schedule="nightly-counting",
            detail={"waiting_for": "counting (1 seat)"},
        )
        _drifted(runtime)
        dash = Dashboard.open(runtime, hasher=FAST_HASHER)
        for name, roles in ACCOUNTS.items():
            dash.users.add(name, PASSWORD, roles)
    return Seeded(home, run.id, failed.id, review, review2, png, zipped, missed.id, queued.id)


def _drifted(runtime: Runtime) -> None:
    """A preflight that found one of Caseflow's selectors gone (the drift panel's table)."""
    from borough.drift.report import Candidate, DriftReport, Finding
    from borough.drift.store import DriftBook

    broken = Finding(
        "case form",
        "save",
        "#btnSave",
        "missing",
        "matches nothing",
        (Candidate("#saveCase", 0.74, 'button "Save case"'),),
        ("screens", "case form", "elements", "save"),
    )
    report = DriftReport("casework", "web", [broken])
    DriftBook(runtime.ledger.engine).record(report, trigger="preflight", actor="bot:coc")


def _needs_review(runtime: Runtime, run_id: str) -> tuple[int, int, str, str]:
    """Two items whose outcome the target could not confirm, as the worker records them."""
    tokenizer = runtime.tokenizer
    made = []
    for key in ("R9001", "R9002"):
        new = NewItem(
            key_token=tokenizer.token(key),
            key=key,
            data={"ref": key, "name": "Zoë Example"},
            source=f"people.csv row {key}",
            subjects=[tokenizer.token("Zoë Example")],
            data_categories=["name"],
            digest=tokenizer.digest(key),
        )
        record, _ = runtime.ledger.items.ingest("counting-bot", run_id, [new])[0]
        made.append(record)
    queue = runtime.ledger.items
    trail = runtime.trail.bind(run_id=run_id, bot="counting-bot", actor="bot:counting-bot")
    claims = []
    while (claim := queue.claim_next("counting-bot", run_id)) is not None:
        claims.append(claim)
    for claim in claims:
        item = queue.get(claim.item_id)
        flight = queue.mark_in_flight(claim)
        trail.emit("item.intent", item=item.key_token, outcome="pending", subjects=item.subjects)
        queue.finish(flight, ItemState.NEEDS_REVIEW, error="target did not answer after submit")
        trail.emit(
            "item.needs_review",
            item=item.key_token,
            outcome="needs_review",
            error="target did not answer after submit",
            subjects=item.subjects,
        )
    evidence = runtime.evidence(run_id)
    first = made[0]
    shot = evidence.save(trail, "after-submit.png", PNG, kind="screenshot", item=first.key_token)
    trace = evidence.save(
        trail, "trace.zip", b"PK\x05\x06" + bytes(18), kind="trace", item=first.key_token
    )
    evidence.save(
        trail,
        "page.html",
        "<script>alert(1)</script><p>page</p>",
        kind="html",
        item=first.key_token,
    )
    prefix = "evidence/"
    return (
        made[0].id,
        made[1].id,
        shot.relative.removeprefix(prefix),
        trace.relative.removeprefix(prefix),
    )


def overnight_failures(runtime: Runtime, bot: str, errors: list[str]) -> list[int]:
    """Items of ``bot`` (no bot code needed) that failed overnight, one per error, as a run
    of that bot records them; returns their ids."""
    tokenizer = runtime.tokenizer
    run = runtime.ledger.runs.create(
        bot, "1.0.0", trigger="schedule:overnight", schedule="overnight"
    )
    keys = [f"{bot}-{n:03d}" for n in range(len(errors))]
    new = [
        NewItem(key_token=tokenizer.token(k), key=k, data={}, source=f"row {n}",
                digest=tokenizer.digest(k))
        for n, k in enumerate(keys)
    ]  # fmt: skip
    runtime.ledger.items.ingest(bot, run.id, new)
    trail = runtime.trail.bind(run_id=run.id, bot=bot, actor=f"bot:{bot}")
    queue, made = runtime.ledger.items, []
    for error in errors:
        claim = queue.claim_next(bot, run.id)
        assert claim is not None
        flight = queue.mark_in_flight(claim)
        queue.finish(flight, ItemState.FAILED, error=error)
        item = queue.get(claim.item_id)
        trail.emit("item.failed", item=item.key_token, outcome="failed", error=error)
        made.append(item.id)
    runtime.ledger.runs.finish(run.id, RunStatus.COMPLETED_WITH_FAILURES)
    return made


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The dashboard app on a free loopback port in a thread; yields its base URL."""
    port = free_port()
    srv = server(app, "127.0.0.1", port)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dashboard server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Site:
    url: str
    app: FastAPI
    dash: Dashboard
    seeded: Seeded
    clock: Clock
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self) -> httpx.Client:
        """A fresh browser-like client (closed when the site stops)."""
        client = httpx.Client(base_url=self.url, timeout=30)
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        while self.clients:
            self.clients.pop().close()

    def sign_in(self, name: str, password: str = PASSWORD) -> httpx.Client:
        client = self.client()
        response = post_form(client, "/sign-in", "/sign-in", name=name, password=password)
        assert response.status_code == 303, response.text
        return client

    def audit(self) -> list[dict[str, Any]]:
        """Every record of the installation's trail, oldest first."""
        log = self.dash.runtime.paths.audit / "audit.jsonl"
        return [json.loads(line) for line in log.read_text("utf-8").splitlines() if line]


@contextmanager
def seeded_site(root: Path, settings: DashboardSettings | None = None) -> Iterator[Site]:
    """A seeded installation in ``root`` with its dashboard served on loopback."""
    seeded = seed(root)
    clock = Clock()
    with runtime_in(seeded.home) as runtime:
        control = SchedulerControl(runtime)
        dash = Dashboard.open(
            runtime, settings=settings, hasher=FAST_HASHER, clock=clock, schedules=control
        )
        app = create_app(dash)
        with serving(app) as url:
            site = Site(url, app, dash, seeded, clock)
            try:
                yield site
            finally:
                site.close_clients()


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def post_form(client: httpx.Client, page: str, action: str, **data) -> httpx.Response:
    """Load ``page`` for its CSRF token, then post ``data`` to ``action`` as its form would."""
    token = csrf_of(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data})
