"""Operator actions are one service: the command line and the dashboard make the same
ledger change and the same audit record, obey the same four-eyes rule, and write the
record before the change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from borough.audit.trail import AuditTrail
from borough.cli import app
from borough.dashboard.app import create_app
from borough.dashboard.state import Dashboard
from borough.errors import AuditError
from borough.ledger import ItemState
from borough.ledger.schema import items
from borough.operations import Operations, Operator
from borough.testing import home_env, runtime_in
from tests.support.dashboard import FAST_HASHER, PASSWORD, post_form, seed, serving

REASON = "caller rang from 07700 900123, NI AB 12 34 56 C: the row is right now"
VARYING = ("ts", "seq", "prev_hash", "hash", "mac")  # where and when in the chain
runner = CliRunner()


def cli(home: Path, login: str, monkeypatch: pytest.MonkeyPatch, *args: str):
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LOGNAME", login)
    return runner.invoke(app, list(args), catch_exceptions=False)


def row(home: Path, item_id: int) -> dict[str, Any]:
    with runtime_in(home) as runtime, runtime.ledger.engine.connect() as conn:
        found = conn.execute(select(items).where(items.c.id == item_id)).one()
    values = dict(found._mapping)
    del values["updated_at"]
    return values


def records(home: Path, action: str) -> list[dict[str, Any]]:
    lines = (home / "logs/audit/audit.jsonl").read_text("utf-8").splitlines()
    found = [json.loads(line) for line in lines]
    return [
        {k: v for k, v in r.items() if k not in VARYING} for r in found if r["action"] == action
    ]


def test_cli_and_dashboard_make_byte_identical_changes(tmp_path: Path, monkeypatch):
    seeded = seed(tmp_path / "a")
    one, two = seeded.home, tmp_path / "b"
    shutil.copytree(one, two)  # the same installation twice: same keys, same ledger
    failed, review = seeded.failed_id, seeded.review_id

    retried = cli(one, "olivia", monkeypatch, "items", "retry", str(failed), "--reason", REASON)
    assert retried.exit_code == 0, retried.output
    resolved = cli(
        one, "olivia", monkeypatch,
        "items", "resolve", str(review), "--as", "done", "--reference", "REF-7", "--reason", REASON,
    )  # fmt: skip
    assert resolved.exit_code == 0, resolved.output

    with runtime_in(two) as runtime:
        dash = Dashboard.open(runtime, hasher=FAST_HASHER)
        with serving(create_app(dash)) as url, httpx.Client(base_url=url) as web:
            post_form(web, "/sign-in", "/sign-in", name="olivia", password=PASSWORD)
            post_form(web, f"/items/{failed}", f"/items/{failed}/retry", reason=REASON)
            post_form(
                web, f"/items/{review}", f"/items/{review}/resolve",
                to="done", reference="REF-7", reason=REASON,
            )  # fmt: skip

    for item_id in (failed, review):
        assert row(one, item_id) == row(two, item_id)
    assert row(one, failed)["state"] == "pending" and row(one, review)["state"] == "done"
    kept = row(one, failed)["resolution"]
    assert "07700" not in kept and "AB 12" not in kept and "[PHONE]" in kept and "[NINO]" in kept
    for action in ("item.retry_requested", "item.resolved"):
        [by_cli], [by_dashboard] = records(one, action), records(two, action)
        assert by_cli == by_dashboard
        assert by_cli["actor"] == "user:olivia" and "[NINO]" in by_cli["detail"]["reason"]


def four_eyes(home: Path) -> None:
    settings = home / "config" / "borough.yaml"
    data = yaml.safe_load(settings.read_text("utf-8")) or {}
    data["dashboard"] = {"four_eyes": True}
    settings.write_text(yaml.safe_dump(data), encoding="utf-8")


def state(home: Path, item_id: int) -> ItemState:
    with runtime_in(home) as runtime:
        return runtime.ledger.items.get(item_id).state


def test_the_cli_cannot_bypass_four_eyes_and_break_glass_is_recorded(tmp_path, monkeypatch):
    seeded = seed(tmp_path)
    home, review, other = seeded.home, seeded.review_id, seeded.review2_id
    four_eyes(home)
    asked = cli(
        home, "olivia", monkeypatch,
        "items", "resolve", str(review), "--as", "skipped", "--reason", "duplicate of R9002",
    )  # fmt: skip
    assert asked.exit_code == 0 and "waits for another operator" in asked.output
    assert state(home, review) is ItemState.NEEDS_REVIEW
    with runtime_in(home) as runtime:
        request = Operations.open(runtime).approvals.pending(item_id=review)[0].batch_id
    listed = cli(home, "oscar", monkeypatch, "items", "requests")
    assert str(request) in listed.output and "olivia" in listed.output
    own = cli(home, "olivia", monkeypatch, "items", "approve", str(request))
    assert own.exit_code == 3 and "a different operator" in own.output
    assert state(home, review) is ItemState.NEEDS_REVIEW
    approved = cli(home, "oscar", monkeypatch, "items", "approve", str(request))
    assert approved.exit_code == 0, approved.output
    assert state(home, review) is ItemState.SKIPPED
    [resolved] = records(home, "item.resolved")
    assert resolved["actor"] == "user:oscar" and resolved["detail"]["requested_by"] == "user:olivia"

    urgent = cli(
        home, "olivia", monkeypatch,
        "items", "resolve", str(other), "--as", "failed", "--reason", "council closed the claim",
        "--break-glass",
    )  # fmt: skip
    assert urgent.exit_code == 0 and "break-glass" in urgent.output
    assert state(home, other) is ItemState.FAILED
    lines = (home / "logs/audit/audit.jsonl").read_text("utf-8").splitlines()
    actions = [json.loads(line)["action"] for line in lines]
    glass = actions.index("operator.break_glass")
    assert actions[glass + 1] == "item.resolved"
    assert records(home, "item.resolved")[-1]["detail"]["break_glass"] is True


def test_break_glass_is_refused_without_four_eyes(tmp_path, monkeypatch):
    seeded = seed(tmp_path)
    refused = cli(
        seeded.home, "olivia", monkeypatch,
        "items", "resolve", str(seeded.review_id), "--as", "failed", "--reason", "closed",
        "--break-glass",
    )  # fmt: skip
    assert refused.exit_code == 2 and "four-eyes" in refused.output


def test_no_audit_record_no_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    seeded = seed(tmp_path)
    with runtime_in(seeded.home) as runtime:
        ops = Operations.open(runtime)

        def full_disk(*args: object, **kwargs: object) -> int:
            raise AuditError("the audit trail cannot be written: disk full")

        monkeypatch.setattr(AuditTrail, "emit", full_disk)
        with pytest.raises(AuditError):
            ops.retry(Operator("olivia"), seeded.failed_id, "limit raised")
        with pytest.raises(AuditError):
            ops.override(Operator("olivia"), seeded.review_id, ItemState.SKIPPED, reason="dup")
        ops.four_eyes = True
        with pytest.raises(AuditError):
            ops.override(Operator("olivia"), seeded.review_id, ItemState.SKIPPED, reason="dup")
        monkeypatch.undo()
        assert runtime.ledger.items.get(seeded.failed_id).state is ItemState.FAILED
        assert runtime.ledger.items.get(seeded.review_id).state is ItemState.NEEDS_REVIEW
        assert ops.approvals.pending(item_id=seeded.review_id) == []
