"""Notices by email (a real SMTP server) and webhook, with credentials from the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from borough.audit.reading import iter_records
from borough.ledger import RunCounts, RunStatus
from borough.runtime import Runtime
from borough.testing import runtime_in
from scheduler.config import EmailChannel, NotifySettings, WebhookChannel
from scheduler.notify.hub import Notifications, notifier_for
from tests.support.receivers import free_port, smtp_server, webhook_server
from tests.support.scheduling import scheduler_home


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    home = scheduler_home(tmp_path, {"nightly": {"bot": "sleepy-a", "daily": "01:30"}})
    with runtime_in(home) as runtime:
        yield runtime


def finished_run(runtime: Runtime, status: RunStatus, error: str | None = None, **counts):
    run = runtime.ledger.runs.create(
        "sleepy-a", "1.0.0", trigger="schedule:nightly", schedule="nightly"
    )
    runtime.ledger.runs.finish(run.id, status, error=error, counts=RunCounts(**counts))
    return runtime.ledger.runs.get(run.id)


def hub(runtime: Runtime, settings: NotifySettings) -> Notifications:
    notifiers = [notifier_for(c, runtime.secrets) for c in settings.channels]
    notifications = Notifications(
        settings, notifiers, runtime.trail, redact=runtime.redactor.redact, council="Test Council"
    )
    notifications.start()
    return notifications


def audit(runtime: Runtime, action: str) -> list[dict]:
    return [r for r in iter_records(runtime.paths.audit) if r["action"] == action]


def test_a_timed_out_run_is_emailed_with_the_password_from_the_store(runtime: Runtime):
    runtime.secrets.set("smtp-password", "s3cret £ mail")
    with smtp_server() as mailbox:
        email = EmailChannel(
            host="127.0.0.1",
            port=mailbox.port,
            sender="rpa@example.gov.uk",
            to=["ops@example.gov.uk"],
            username="rpa",
            password_secret="smtp-password",
        )
        notifications = hub(runtime, NotifySettings(email=email))
        run = finished_run(runtime, RunStatus.TIMED_OUT, "killed at its maximum run time (30 min)")
        assert notifications.run_ended(run)
        assert notifications.drain(20)
        notifications.close()
    assert mailbox.logins == [("rpa", "s3cret £ mail")]
    [message] = mailbox.messages
    assert message["Subject"] == "[borough] timed out: nightly"
    body = message.get_payload()
    assert "killed at its maximum run time (30 min)" in body
    assert f"borough runs show {run.id}" in body and "Test Council" in body
    [sent] = audit(runtime, "notify.sent")
    assert sent["target"] == "email" and sent["run_id"] == run.id
    assert "s3cret" not in (runtime.paths.audit / "audit.jsonl").read_text()


def test_a_webhook_gets_json_and_its_url_stays_secret(runtime: Runtime):
    with webhook_server() as hook:
        runtime.secrets.set("teams-webhook", hook.url)
        notifications = hub(
            runtime, NotifySettings(webhook=WebhookChannel(url_secret="teams-webhook"))
        )
        run = finished_run(
            runtime, RunStatus.COMPLETED_WITH_FAILURES, done=3, failed=1, needs_review=2
        )
        notifications.run_ended(run)
        assert notifications.drain(20)
        notifications.close()
    [post] = hook.posts
    assert post["event"] == "needs_review" and post["run_id"] == run.id
    assert post["summary"] == "Run of sleepy-a finished: 3 done, 1 failed, 2 need review."
    assert "T0KEN" not in (runtime.paths.audit / "audit.jsonl").read_text()
    [sent] = audit(runtime, "notify.sent")
    assert sent["detail"]["to"] == "webhook (URL in secret 'teams-webhook')"


def test_personal_data_in_an_error_is_redacted_before_it_leaves(runtime: Runtime):
    with webhook_server() as hook:
        notifications = hub(runtime, NotifySettings(webhook=WebhookChannel(url=hook.url)))
        error = "stopped on the record of jo.bloggs@example.com, NI AB123456C"
        notifications.run_ended(finished_run(runtime, RunStatus.FAILED, error))
        assert notifications.drain(20)
        notifications.close()
    text = str(hook.posts[0])
    assert "jo.bloggs@example.com" not in text and "AB123456C" not in text
    assert "stopped on the record of" in text


def test_a_broken_channel_is_recorded_and_never_raises(runtime: Runtime):
    email = EmailChannel(
        host="127.0.0.1", port=free_port(), sender="a@b", to=["c@d"], timeout_seconds=2
    )
    notifications = hub(runtime, NotifySettings(email=email))
    notifications.run_ended(finished_run(runtime, RunStatus.CRASHED, "process vanished"))
    assert notifications.drain(20)
    notifications.close()
    [failed] = audit(runtime, "notify.failed")
    assert failed["outcome"] == "error" and "ConnectionRefusedError" in failed["error"]
    assert notifications.failed == 1 and notifications.sent == 0


def test_only_wanted_events_and_no_repeat_within_the_window(runtime: Runtime):
    with webhook_server() as hook:
        settings = NotifySettings(
            webhook=WebhookChannel(url=hook.url),
            events=["failed", "timed_out"],
            repeat_after_minutes=60,
        )
        notifications = hub(runtime, settings)
        assert notifications.run_ended(finished_run(runtime, RunStatus.FAILED, "boom"))
        assert not notifications.run_ended(finished_run(runtime, RunStatus.FAILED, "boom again"))
        assert not notifications.run_ended(finished_run(runtime, RunStatus.CRASHED, "gone"))
        assert not notifications.run_ended(finished_run(runtime, RunStatus.SUCCEEDED))
        assert notifications.run_ended(finished_run(runtime, RunStatus.TIMED_OUT, "slow"))
        assert notifications.drain(20)  # each post is recorded before the hook answers it
        notifications.close()
    assert [p["event"] for p in hook.posts] == ["failed", "timed_out"]
    assert notifications.sent == 2


@pytest.mark.parametrize(
    ("events", "sent"),
    [
        (["drift"], True),
        (["failed"], True),  # configs written before drift notices existed still hear of it
        (["needs_review", "missed"], False),
    ],
)
def test_a_run_stopped_by_drift_is_a_drift_notice_for_drift_or_failed(
    runtime: Runtime, events: list[str], sent: bool
):
    with webhook_server() as hook:
        settings = NotifySettings(events=events, webhook=WebhookChannel(url=hook.url))
        notifications = hub(runtime, settings)
        run = finished_run(runtime, RunStatus.FAILED, "stopped before any item: app 'casework'")
        runtime.ledger.runs.update_detail(run.id, drift=["casework"])
        assert notifications.run_ended(runtime.ledger.runs.get(run.id)) is sent
        assert notifications.drain(20)
        notifications.close()
    if not sent:
        assert hook.posts == []
        return
    [post] = hook.posts
    assert post["event"] == "drift" and post["text"].startswith("[borough] drift: nightly")
    assert post["detail"]["drifted apps"] == "casework"
    assert post["detail"]["next step"].startswith("borough check app casework")
