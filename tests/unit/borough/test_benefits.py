"""Benefit figures against a ledger whose every number was worked out by hand.

The fixture (November 2026 unless said): bot ``coc`` (6 min/item, 3 % keying errors)
has 10 items the robot did, 1 the robot did after an operator's retry, 2 an operator
resolved as done, 3 failed, 1 needing review, 2 pending and 1 skipped (neither counts),
runs of 30 and 15 minutes, a 10-minute dry run (does not count), and an item and a run
from 31 October; ``desk`` (4 min/item) has 6 done; ``legacy`` declares no minutes, 5 done.
One ``coc`` item was done at 00:30 BST on 1 October: 30 September in UTC, October in UK time.
Every test runs over both ledger stores (SQLite and PostgreSQL).
"""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import event, insert
from typer.testing import CliRunner

from borough.benefits import Month, benefit_report, month_figures
from borough.cli import app
from borough.ledger.schema import items, runs
from borough.testing import home_env, make_home, runtime_in
from tests.support.postgres import LEDGER_STORES

NOV = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def item(bot: str, state: str, when: datetime, resolution: str | None = None) -> dict[str, object]:
    n = next(_ids)
    return {
        "bot": bot,
        "key_token": f"tok-{n}",
        "state": state,
        "attempt": 1,
        "fence": 0,
        "invalid": False,
        "subjects": "",
        "data_categories": "",
        "resolution": resolution,
        "created_at": when - timedelta(hours=1),
        "updated_at": when,
    }


def run(bot: str, start: datetime, minutes: float, status: str = "succeeded") -> dict[str, object]:
    return {
        "id": f"run-{next(_ids)}",
        "bot": bot,
        "bot_version": "1",
        "trigger": "manual",
        "status": status,
        "host": "test",
        "created_at": start,
        "started_at": start,
        "ended_at": start + timedelta(minutes=minutes),
        "counts": "{}",
        "detail": "{}",
    }


@pytest.fixture(params=LEDGER_STORES)
def home(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    bots = {
        "coc": {"manual_minutes_per_item": 6, "manual_error_rate": 0.03},
        "desk": {"manual_minutes_per_item": 4},
        "legacy": {},
    }
    files = {
        f"config/bots/{name}.yaml": yaml.safe_dump({"bot": name, "entry": "x.y:Z", **extra})
        for name, extra in bots.items()
    }
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        files["config/borough.yaml"] = yaml.safe_dump({"ledger": {"url": url}})
    home = make_home(tmp_path / "home", files=files)
    rows = [
        *(item("coc", "done", NOV) for _ in range(10)),
        item("coc", "done", NOV, "retry by bob: the account was fixed"),
        *(item("coc", "done", NOV, "resolved as done by alice: keyed by hand") for _ in range(2)),
        *(item("coc", "failed", NOV) for _ in range(3)),
        item("coc", "needs_review", NOV),
        *(item("coc", "pending", NOV) for _ in range(2)),
        item("coc", "skipped", NOV),
        item("coc", "done", datetime(2026, 10, 31, 23, 30, tzinfo=UTC)),  # October (GMT)
        item("coc", "done", datetime(2026, 9, 30, 23, 30, tzinfo=UTC)),  # 00:30 BST, 1 October
        item("coc", "done", datetime(2026, 12, 1, 0, 0, tzinfo=UTC)),  # December
        *(item("desk", "done", NOV) for _ in range(6)),
        *(item("legacy", "done", NOV) for _ in range(5)),
    ]
    run_rows = [
        run("coc", NOV, 30),
        run("coc", NOV + timedelta(days=3), 15),
        run("coc", NOV, 10, status="dry_run"),
        run("coc", datetime(2026, 10, 31, 22, 0, tzinfo=UTC), 120),
    ]
    with runtime_in(home) as runtime, runtime.ledger.engine.begin() as conn:
        conn.execute(insert(items), rows)
        conn.execute(insert(runs), run_rows)
    return home


def test_the_figures_are_the_hand_computed_ones(home: Path):
    with runtime_in(home) as runtime:
        report = benefit_report(runtime.ledger.engine, runtime.config, Month.parse("2026-11"))
    coc, desk, legacy = report.bots
    assert [b.bot for b in report.bots] == ["coc", "desk", "legacy"]
    assert (coc.done, coc.done_by_person, coc.failed, coc.needs_review) == (11, 2, 3, 1)
    assert coc.exception_rate == pytest.approx(4 / 17)
    assert coc.runs == 2 and coc.robot_seconds == 45 * 60
    assert coc.hours_saved == pytest.approx(1.1)  # 11 x 6 min
    assert coc.errors_avoided == pytest.approx(0.33)
    assert (desk.done, desk.hours_saved, desk.exception_rate) == (6, pytest.approx(0.4), 0.0)
    assert legacy.hours_saved is None and report.undeclared == ["legacy"]
    assert report.total.done == 22 and report.hours_saved == pytest.approx(1.5)
    assert report.errors_avoided == pytest.approx(0.33)
    trend = {str(p.month): p for p in report.trend}
    assert list(trend) == [str(Month(2025, 12).shift(n)) for n in range(12)]
    assert trend["2026-10"].done == 2 and trend["2026-10"].hours_saved == pytest.approx(0.2)
    assert trend["2026-09"].done == 0, "00:30 BST on 1 October is October"
    assert trend["2026-11"].hours_saved == pytest.approx(1.5)
    assert trend["2026-11"].exception_rate == pytest.approx(4 / 28)


def test_the_cli_prints_the_report_and_exports_csv(home: Path, monkeypatch: pytest.MonkeyPatch):
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    shown = runner.invoke(app, ["report", "benefits", "--month", "2026-11"])
    assert shown.exit_code == 0, shown.output
    assert "coc" in shown.output and "1.5" in shown.output and "legacy" in shown.output
    exported = runner.invoke(app, ["report", "benefits", "--month", "2026-11", "--csv", "-"])
    table = list(csv.reader(io.StringIO(exported.output)))
    header, rows = table[0], table[1:5]
    total = dict(zip(header, rows[3], strict=True))
    assert total["bot"] == "total" and total["items_done"] == "22"
    assert total["officer_hours_saved"] == "1.50"
    bad = runner.invoke(app, ["report", "benefits", "--month", "November"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output


def test_the_report_reads_the_ledger_once_whatever_the_months(home: Path):
    """Items in one grouped query and runs in another for all twelve months (a report over a
    large ledger is one pass: benchmarks/benefits_report.py), with the figures one month's
    own query gives."""
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "borough_items" in statement or "borough_runs" in statement:
            statements.append(statement)

    with runtime_in(home) as runtime:
        engine = runtime.ledger.engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            report = benefit_report(engine, runtime.config, Month.parse("2026-11"))
            assert len(statements) == 2, statements
            october = month_figures(engine, runtime.config, Month.parse("2026-10"))
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert [(b.bot, b.done, b.runs) for b in october] == [("coc", 2, 1)]
    assert october[0].robot_seconds == 120 * 60
    trend = {str(p.month): p for p in report.trend}
    assert trend["2026-10"].done == sum(b.done for b in october)
