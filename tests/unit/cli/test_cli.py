"""The operator's and auditor's commands, through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.ledger import ItemState
from borough.testing import home_env, runtime_in
from tests.support.installs import counting_home, people

runner = CliRunner()


@pytest.fixture
def counting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rows = people(5, bad_every=5)
    rows[0]["Amount"] = 999
    home = counting_home(tmp_path, rows)
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    return home


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def test_help_lists_every_noun():
    result = invoke("--help")
    for noun in ("run", "runs", "items", "audit", "secrets", "config", "new", "demo"):
        assert noun in result.output


def test_run_prints_summary_and_exit_code_says_failures(counting: Path):
    result = invoke("run", "counting-bot")
    assert result.exit_code == 1, result.output
    assert "COMPLETED_WITH_FAILURES" in result.output
    assert "Items that need attention" in result.output
    again = invoke("run", "counting-bot")
    assert again.exit_code == 0 and "SUCCEEDED" in again.output


def test_unknown_bot_is_a_clear_error(counting: Path):
    result = invoke("run", "no-such-bot")
    assert result.exit_code == 3
    assert "no bot named 'no-such-bot'; known bots:" in result.output
    assert "counting-bot" in result.output


def test_dry_run_previews_and_changes_nothing(counting: Path):
    result = invoke("run", "counting-bot", "--dry-run")
    assert result.exit_code == 1, result.output  # a row that would fail is reported as one
    assert "Dry run: what a real run would do" in result.output
    assert "record as FAILED" in result.output
    with runtime_in(counting) as runtime:
        assert runtime.ledger.items.list(bot="counting-bot") == []


def test_failed_item_retry_and_runs_views(counting: Path):
    invoke("run", "counting-bot")
    with runtime_in(counting) as runtime:
        failed = runtime.ledger.items.list(states=[ItemState.FAILED])
    business = next(i for i in failed if "over the limit" in (i.error or ""))
    result = invoke("items", "retry", str(business.id), "--reason", "limit raised")
    assert result.exit_code == 0 and "PENDING" in result.output
    assert "needs it to be FAILED" in invoke("items", "retry", str(business.id)).output
    listing = invoke("items", "list", "--state", "pending")
    assert str(business.id) in listing.output
    runs = invoke("runs", "list")
    assert "counting-bot" in runs.output and "COMPLETED_WITH_FAILURES" in runs.output
    with runtime_in(counting) as runtime:
        run_id = runtime.ledger.runs.list(limit=1)[0].id
    shown = invoke("runs", "show", run_id[:15])
    assert run_id in shown.output and "Items" in shown.output


def test_resolve_needs_review_with_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = counting_home(tmp_path, people(1), bot="no-lookup-bot", target={"fail_after_rate": 1.0})
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    invoke("run", "no-lookup-bot")
    with runtime_in(home) as runtime:
        item = runtime.ledger.items.list(states=[ItemState.NEEDS_REVIEW])[0]
    result = invoke(
        "items",
        "resolve",
        str(item.id),
        "--as",
        "done",
        "--reference",
        "REF-000001",
        "--reason",
        "found the case in the target by hand",
    )
    assert result.exit_code == 0, result.output
    with runtime_in(home) as runtime:
        resolved = runtime.ledger.items.get(item.id)
    assert resolved.state is ItemState.DONE and resolved.reference == "REF-000001"
    audit = (home / "logs/audit/audit.jsonl").read_text("utf-8").splitlines()
    record = json.loads(next(line for line in audit if '"item.resolved"' in line))
    assert record["actor"].startswith("user:") and record["item"] == item.key_token


def test_audit_verify_export_and_sar(counting: Path):
    invoke("run", "counting-bot")
    ok = invoke("audit", "verify")
    assert ok.exit_code == 0 and "OK" in ok.output
    exported = invoke("audit", "export", "--format", "jsonl", "--since", "1d")
    rows = [json.loads(line) for line in exported.output.splitlines() if line.startswith("{")]
    assert rows and {"seq", "hash", "prev_hash", "action"} <= set(rows[0])
    sar = invoke("audit", "sar", "Person 2")
    assert sar.exit_code == 0 and "audit records" in sar.output
    assert "item.done" in sar.output
    csv_out = invoke("audit", "export", "--format", "csv")
    assert csv_out.output.startswith("schema,seq,ts,host")

    log = counting / "logs/audit/audit.jsonl"
    lines = log.read_text("utf-8").splitlines(keepends=True)
    del lines[3]
    log.write_text("".join(lines), "utf-8")
    bad = invoke("audit", "verify")
    assert bad.exit_code == 4
    assert "TAMPERED missing at record 4" in bad.output


def test_audit_verify_with_exported_public_key(counting: Path, tmp_path: Path):
    invoke("run", "counting-bot")
    key = tmp_path / "audit.pub"
    key.write_text(invoke("audit", "public-key").output)
    assert invoke("audit", "verify", "--public-key", str(key)).exit_code == 0


def test_retention_purge_keeps_the_chain_verifiable(counting: Path):
    invoke("run", "counting-bot")
    result = invoke("audit", "purge", "--older-than-days", "1", "--yes")
    assert result.exit_code == 0, result.output
    assert invoke("audit", "verify").exit_code == 0


def test_secrets_set_list_delete_never_show_values(counting: Path):
    result = invoke("secrets", "set", "casework-login", "--stdin", input="svc-bot:Pa55£word\n")
    assert result.exit_code == 0 and "Pa55" not in result.output
    listing = invoke("secrets", "list")
    assert "casework-login" in listing.output and "borough.keys" not in listing.output
    assert invoke("secrets", "delete", "casework-login").exit_code == 0
    assert "No secrets stored" in invoke("secrets", "list").output
    audit = (counting / "logs/audit/audit.jsonl").read_text("utf-8")
    assert '"secret.set"' in audit and "Pa55" not in audit


def test_locked_store_says_which_variable_to_set(counting: Path, monkeypatch):
    monkeypatch.delenv("BOROUGH_SECRETS_PASSPHRASE")
    result = invoke("secrets", "list")
    assert result.exit_code == 3
    assert "set the environment variable BOROUGH_SECRETS_PASSPHRASE" in result.output


def test_wrong_passphrase_is_reported(counting: Path, monkeypatch):
    invoke("secrets", "list")
    monkeypatch.setenv("BOROUGH_SECRETS_PASSPHRASE", "not the passphrase")
    result = invoke("secrets", "list")
    assert result.exit_code == 3 and "wrong passphrase" in result.output


def test_read_only_views_need_no_passphrase_but_decrypting_does(counting: Path, monkeypatch):
    from borough.secrets.passphrase import forget_passphrases

    assert invoke("run", "counting-bot", "-q").exit_code == 1  # one bad row
    forget_passphrases()  # the run took it from the environment and kept it in memory
    monkeypatch.delenv("BOROUGH_SECRETS_PASSPHRASE", raising=False)
    for command in (["runs", "list"], ["items", "list"], ["items", "show", "1"]):
        result = invoke(*command)
        assert result.exit_code == 0, (command, result.output)
    from borough.config import load_config, resolve_paths
    from borough.view import open_view

    view = open_view(load_config(resolve_paths(home_env(counting))))
    [run] = view.ledger.runs.list()
    view.close()
    assert invoke("runs", "show", run.id).exit_code == 0
    for command in (["items", "show", "1", "--reveal"], ["items", "list", "--key", "P1"]):
        result = invoke(*command)
        assert result.exit_code == 3, (command, result.output)
        assert "BOROUGH_SECRETS_PASSPHRASE" in result.output


def test_config_check_reports_every_problem(counting: Path):
    assert invoke("config", "check").exit_code == 0
    (counting / "config/apps.yaml").write_text(
        "apps:\n  counting:\n    kind: borough.testing:CountingTarget\n"
        "    delay_seconds: soon\n    colour: red\n"
    )
    result = invoke("config", "check")
    assert result.exit_code == 3
    assert "apps.yaml:4 [apps.counting.delay_seconds]" in result.output
    assert "apps.yaml:5 [apps.counting.colour]" in result.output
    assert "2 problem(s)" in result.output
