"""UI drift caught before a scheduled run: Caseflow upgraded to its next version under the
change-of-circumstances bot, in real Chromium, through the real scheduler and CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from borough.audit.reading import iter_records
from borough.cli import app as cli
from borough.ledger import ItemState, RunRecord, RunStatus
from borough.testing import runtime_in
from sandbox.web import SandboxConfig, read_counts, running
from sandbox.web.data import notifications
from scheduler.service import SchedulerService
from tests.support.receivers import webhook_server
from tests.support.scheduling import child_env, wait_for
from tests.support.web import BOT, PASSWORD, USER, require_chromium, web_home

pytestmark = [pytest.mark.browser]

#: every locator the 4.2 declaration holds for a screen the check visits -> its 5.0 match
FIXES = {
    "#lnkSearch": "#navFindCase",
    "#lnkNewCase": "#navRecordChange",
    "#lnkReports": "#navReports",
    "#txtSearchClaim": "#findClaimNumber",
    "#btnSearch": "#findCases",
    "#txtClaimRef": "#claimNumber",
    "#txtCtAcc": "#ctAccount",
    "#txtSurname": "#surname",
    "#txtForenames": "#firstNames",
    "#txtNino": "#niNumber",
    "#ddlChangeType": "#changeType",
    "#txtEffDate": "#effectiveDate",
    "#txtWeekly": "#weeklyAmount",
    "#txtPostcode": "#postcode",
    "#txtNotes": "#notes",
    "#btnSave": "#saveCase",
    "#lnkReportCsv": "#dlCasesCsv",
    "#lnkReportXlsx": "#dlCasesXlsx",
}


def scheduled_run(home: Path, env: dict[str, str]) -> RunRecord:
    """One run of the nightly schedule, started by the scheduler in its own process."""
    with runtime_in(home) as runtime:
        service = SchedulerService(runtime, env=env)
        service.start()
        try:
            queued = service.book.run_now("nightly", "user:test")
            ended: RunRecord = wait_for(  # type: ignore[assignment]
                lambda: (r := runtime.ledger.runs.get(queued.id)).status.finished and r,
                180,
                "the scheduled run to end",
            )
            service.notifications.drain()
        finally:
            service.stop()
    return ended


def check(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check", "app", "casework", *args], env=env)
    return result.exit_code, result.output


def actions(home: Path, action: str) -> list[dict]:
    return [r for r in iter_records(home / "logs/audit") if r["action"] == action]


def test_next_version_stops_the_scheduled_run_before_any_item_until_a_person_accepts_fixes(
    tmp_path: Path,
):
    require_chromium()
    rows = [row for row in notifications(3, seed=11) if row.expect == "valid"]
    config = SandboxConfig(store=tmp_path / "caseflow.sqlite", users={USER: PASSWORD})
    with webhook_server() as hook, running(config) as caseflow:
        home = web_home(tmp_path / "home", caseflow.url, rows)
        (home / "config/schedules.yaml").write_text(
            yaml.safe_dump(
                {
                    "notify": {"events": ["failed"], "webhook": {"url": hook.url}},
                    "schedules": {"nightly": {"bot": BOT, "cron": "0 3 1 1 *"}},
                }
            ),
            encoding="utf-8",
        )
        env = child_env(home)

        # on 4.2 the check passes and keeps what each element looks like
        code, output = check(env)
        assert code == 0, output
        assert caseflow.app is not None
        caseflow.app.next_version = True  # the supplier's upgrade, overnight

        run = scheduled_run(home, env)
        assert run.status is RunStatus.FAILED
        assert run.error is not None and run.error.startswith("stopped before any item")
        for old, new in FIXES.items():
            assert f"{old!r} -> {new!r}" in run.error, (old, run.error)
        with runtime_in(home) as runtime:
            assert runtime.ledger.items.list(bot=BOT, limit=10) == [], "no item recorded"
        assert read_counts(caseflow.store)["cases"] == 0
        (drift,) = actions(home, "app.drift")
        assert drift["run_id"] == run.id and drift["target"] == "casework"
        assert {b["locator"]: b["proposal"] for b in drift["detail"]["broken"]} == FIXES
        assert [p["event"] for p in hook.posts] == ["drift"], "subscribers of failed are told"
        assert "borough check app casework" in hook.posts[0]["text"] + str(hook.posts[0])

        apps_before = (home / "config/apps.yaml").read_text(encoding="utf-8")
        code, output = check(env, "--accept", "--yes", "--by", "Jane Smith")
        assert code == 0, output
        apps_after = (home / "config/apps.yaml").read_text(encoding="utf-8")
        for old, new in FIXES.items():
            assert f'"{old}"' not in apps_after and f'"{new}"' in apps_after
        backups = list((home / "var/drift/backups").iterdir())
        assert [b.read_text(encoding="utf-8") for b in backups] == [apps_before]
        (accepted,) = actions(home, "app.drift_accepted")
        assert accepted["detail"]["accepted_by"] == "Jane Smith"
        assert len(accepted["detail"]["edits"]) == len(FIXES)

        run = scheduled_run(home, env)
        assert run.status is RunStatus.SUCCEEDED, run.error
        with runtime_in(home) as runtime:
            items = runtime.ledger.items.list(bot=BOT, limit=10)
        assert sorted(i.state for i in items) == [ItemState.DONE] * len(rows)
        assert read_counts(caseflow.store)["cases"] == len(rows)
