"""The drift check without a browser: declarations, proposals, the preflight of a run, the
edits an accepted fix makes to apps.yaml, and the stored checks (through the fake app)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from borough.audit.reading import iter_records
from borough.cli import app as cli
from borough.drift.edit import Edit, apply_edits
from borough.drift.report import Candidate, Finding
from borough.drift.similar import similarity
from borough.drift.store import DriftBook
from borough.errors import ConfigError
from borough.ledger import RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import home_env, runtime_in
from tests.support.installs import counting_home, people

SCREENS = {
    "form": {
        "reach": "/form",
        "elements": {"surname": "#txtSurname", "save": "#btnSave"},
    },
    "saved": {"reach": "after a save", "elements": {"reference": "#lblRef"}},
}
TODAY = ["#txtSurname", "#btnSave"]
NEXT = ["#surname", "#saveCase", "#cancelCase"]


def drift_home(tmp_path: Path, shows: list[str], **app: Any) -> Path:
    return counting_home(
        tmp_path,
        people(3),
        target={"screens": SCREENS, "shows": shows, **app},
        retry={"attempts": 1},
    )


def upgrade(home: Path, shows: list[str]) -> None:
    """The app's next version shows other locators (written into the fake's settings)."""
    file = home / "config/apps.yaml"
    doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    doc["apps"]["counting"]["shows"] = shows
    file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def check(home: Path, *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(
        cli, ["check", "app", "counting", *args], env=home_env(home), input=input
    )


def actions(home: Path, action: str) -> list[dict[str, Any]]:
    return [r for r in iter_records(home / "logs/audit") if r["action"] == action]


# -- similarity and proposals -------------------------------------------------------------
def test_similarity_reads_words_initials_and_abbreviations():
    assert similarity("NI number", "National Insurance number") > similarity(
        "NI number", "Claim number"
    )
    assert similarity("Claim reference", "Claim number") > similarity(
        "Claim reference", "National Insurance number"
    )
    assert similarity("txtClaimRef", "claimReference") > similarity("txtClaimRef", "claimant")
    assert similarity("Forenames", "First names") > similarity("Forenames", "Postcode")
    assert similarity("", "anything") == 0.0
    assert similarity("Zoë", "ZOE") == 1.0


def finding(*scores: float) -> Finding:
    candidates = tuple(Candidate(f"#c{i}", s, "") for i, s in enumerate(scores))
    return Finding("form", "x", "#x", "missing", candidates=candidates, path=("screens",))


@pytest.mark.parametrize(
    ("scores", "proposed"),
    [
        ((0.9, 0.85), "#c0"),  # sure, whatever the runner-up
        ((0.45, 0.30), "#c0"),  # not sure, but clearly ahead
        ((0.45, 0.43), None),  # two nearly alike: a person must choose
        ((0.35,), None),  # too far from what the element was
        ((), None),
    ],
)
def test_only_a_close_and_clear_best_candidate_is_proposed(scores, proposed):
    found = finding(*scores).proposal
    assert (found.locator if found else None) == proposed


# -- the preflight of a run ---------------------------------------------------------------
def test_a_drifted_app_stops_a_scheduled_run_before_any_item(tmp_path: Path):
    home = drift_home(tmp_path, TODAY)
    upgrade(home, NEXT)
    with runtime_in(home) as runtime:
        run = run_bot(
            runtime, RunRequest("counting-bot", trigger="schedule:nightly", schedule="nightly")
        )
        assert run.status is RunStatus.FAILED
        assert run.error is not None and run.error.startswith("stopped before any item")
        assert "form / surname '#txtSurname' -> '#surname'" in run.error
        assert "borough check app counting --accept" in run.error
        assert run.detail["drift"] == ["counting"]
        assert runtime.ledger.items.list(bot="counting-bot", limit=10) == []
        (latest,) = DriftBook(runtime.ledger.engine).latest()
    assert (latest.status, latest.trigger, latest.run_id) == ("drift", "preflight", run.id)
    (record,) = actions(home, "app.drift")
    assert record["run_id"] == run.id
    assert sorted(b["locator"] for b in record["detail"]["broken"]) == sorted(TODAY)


def test_manual_runs_skip_the_preflight_unless_asked(tmp_path: Path):
    home = drift_home(tmp_path, NEXT)
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
    assert run.status is RunStatus.SUCCEEDED, "manual runs are not checked by default"
    assert actions(home, "app.drift") == []
    bot_file = home / "config/bots/counting-bot.yaml"
    bot_config = yaml.safe_load(bot_file.read_text(encoding="utf-8"))
    bot_file.write_text(yaml.safe_dump({**bot_config, "preflight": "always"}), encoding="utf-8")
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
    assert run.status is RunStatus.FAILED and "has drifted" in (run.error or "")


def test_an_app_switched_off_is_not_checked_and_a_clean_app_runs(tmp_path: Path):
    home = drift_home(tmp_path, NEXT, preflight="never")
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot", trigger="schedule:a", schedule="a"))
    assert run.status is RunStatus.SUCCEEDED
    clean = drift_home(tmp_path / "clean", TODAY)
    with runtime_in(clean) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot", trigger="schedule:a", schedule="a"))
        assert run.status is RunStatus.SUCCEEDED
        baseline = DriftBook(runtime.ledger.engine).baseline("counting")
    assert baseline == {
        ("form", "surname"): {"locator": "#txtSurname"},
        ("form", "save"): {"locator": "#btnSave"},
    }
    assert actions(clean, "app.check")[0]["outcome"] == "ok"


def test_an_app_that_cannot_be_checked_does_not_stop_the_run_as_drift(tmp_path: Path):
    home = drift_home(tmp_path, TODAY, unreachable=True)
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot", trigger="schedule:a", schedule="a"))
    assert run.status is RunStatus.COMPLETED_WITH_FAILURES, "the items met the outage"
    assert "drift" not in (run.error or "") and run.detail.get("drift") is None
    (record,) = actions(home, "app.check")
    assert record["outcome"] == "error" and "not answering" in record["error"]


# -- borough check app --------------------------------------------------------------------
def test_check_reports_drift_with_proposals_and_exit_code_1(tmp_path: Path):
    home = drift_home(tmp_path, NEXT)
    result = check(home)
    assert result.exit_code == 1, result.output
    assert "#txtSurname" in result.output and "#surname" in result.output
    assert "not visited: saved (after a save): reference" in result.output
    as_json = json.loads(check(home, "--json").output)
    broken = {
        f["element"]: f["proposal"]["locator"]
        for f in as_json["report"]["findings"]
        if f["proposal"]
    }
    assert broken == {"surname": "#surname", "save": "#saveCase"}
    assert as_json["report"]["status"] == "drift"


def test_accepting_asks_per_fix_and_writes_only_what_a_person_accepted(tmp_path: Path):
    home = drift_home(tmp_path, NEXT)
    apps = home / "config/apps.yaml"
    before = apps.read_text(encoding="utf-8")
    refused = check(home, "--accept", input="n\nn\n")
    assert refused.exit_code == 1
    assert apps.read_text(encoding="utf-8") == before, "nothing accepted, nothing written"
    partly = check(home, "--accept", "--by", "Priya Shah", input="n\ny\n")  # save, surname
    assert partly.exit_code == 1, partly.output  # save still drifted
    after = yaml.safe_load(apps.read_text(encoding="utf-8"))["apps"]["counting"]["screens"]
    assert after["form"]["elements"] == {"surname": "#surname", "save": "#btnSave"}
    (accepted,) = actions(home, "app.drift_accepted")
    assert accepted["detail"]["accepted_by"] == "Priya Shah"
    assert accepted["actor"].startswith("user:")
    assert accepted["detail"]["edits"] == [
        "apps.counting.screens.form.elements.surname: '#txtSurname' -> '#surname'"
    ]
    (backup,) = (home / "var/drift/backups").iterdir()
    assert backup.read_text(encoding="utf-8") == before
    with runtime_in(home) as runtime:
        rows = DriftBook(runtime.ledger.engine).history("counting")
    assert [r.status for r in rows][:3] == ["drift", "accepted", "drift"]


def test_accept_with_yes_fixes_everything_and_a_later_scheduled_run_completes(tmp_path: Path):
    home = drift_home(tmp_path, NEXT)
    result = check(home, "--accept", "--yes", "--json")
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert output["recheck"]["status"] == "ok"
    assert len(output["accepted"]["changes"]) == 2
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot", trigger="schedule:a", schedule="a"))
    assert run.status is RunStatus.SUCCEEDED


def test_check_needs_declared_screens_and_says_how(tmp_path: Path):
    home = counting_home(tmp_path, people(1))
    result = check(home)
    assert result.exit_code == 3
    assert "declares no screens" in result.output


def test_yes_without_accept_is_a_usage_error(tmp_path: Path):
    home = drift_home(tmp_path, TODAY)
    assert check(home, "--yes").exit_code == 2


# -- editing apps.yaml --------------------------------------------------------------------
APPS = """# the council's apps
apps:
  casework:
    kind: web      # Caseflow
    screens:
      form:
        reach: /case/new in frame content
        elements:
          surname: '#txtSurname'   # the person's surname
          save: "#btnSave"
    home_keys:
      New CTR change: [escape]
"""


def test_edits_change_only_the_locator_text_and_keep_comments(tmp_path: Path):
    file = tmp_path / "apps.yaml"
    file.write_text(APPS, encoding="utf-8")
    base = ("apps", "casework")
    edits = [
        Edit((*base, "screens", "form", "elements", "surname"), "#txtSurname", "#surname"),
        Edit((*base, "home_keys", "New CTR change"), "New CTR change", "New change", key=True),
    ]
    backup = apply_edits(file, edits, tmp_path / "backups", tmp_path / "lock")
    assert backup.read_text(encoding="utf-8") == APPS
    assert file.read_text(encoding="utf-8") == APPS.replace(
        "'#txtSurname'   # the person's", '"#surname"   # the person\'s'
    ).replace("New CTR change: [escape]", '"New change": [escape]')


def test_an_edit_of_text_that_changed_since_the_check_is_refused(tmp_path: Path):
    file = tmp_path / "apps.yaml"
    file.write_text(APPS, encoding="utf-8")
    edit = Edit(("apps", "casework", "screens", "form", "elements", "save"), "#btnOld", "#new")
    with pytest.raises(ConfigError, match="no longer says '#btnOld'"):
        apply_edits(file, [edit], tmp_path / "backups", tmp_path / "lock")
    assert file.read_text(encoding="utf-8") == APPS
    assert not (tmp_path / "backups").exists()
