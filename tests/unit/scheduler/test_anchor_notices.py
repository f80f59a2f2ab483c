"""Signed audit anchors leave the machine through the notification channels.

The notice carries the anchor line an auditor keeps; ``audit verify --anchors`` with it
proves later that the trail still holds the record, even if trail, head and ledger were
rolled back together on the machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from borough.audit.anchors import parse_anchor
from borough.audit.check import verify_installation
from borough.runtime import Runtime
from borough.testing import runtime_in
from scheduler.config import NotifySettings, WebhookChannel
from scheduler.notify.anchors import AnchorNotices
from scheduler.notify.hub import Notifications, notifier_for
from tests.support.receivers import webhook_server
from tests.support.scheduling import scheduler_home


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    home = scheduler_home(tmp_path, {"nightly": {"bot": "sleepy-a", "daily": "01:30"}})
    with runtime_in(home) as runtime:
        yield runtime


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_anchor_is_sent_at_start_and_then_every_period(runtime: Runtime):
    clock = Clock()
    with webhook_server() as hook:
        settings = NotifySettings(
            webhook=WebhookChannel(url=hook.url), anchor_every_hours=24, repeat_after_minutes=0
        )
        notifiers = [notifier_for(c, runtime.secrets) for c in settings.channels]
        hub = Notifications(settings, notifiers, runtime.trail, redact=runtime.redactor.redact)
        hub.start()
        anchors = AnchorNotices(settings, runtime.trail, hub.publish, clock=clock)
        assert anchors.tick()
        clock.now += 3600
        assert not anchors.tick()
        runtime.trail.emit("item.retry_requested")
        clock.now += 24 * 3600
        assert anchors.tick()
        assert hub.drain(20)
        hub.close()
    assert [p["event"] for p in hook.posts] == ["anchor", "anchor"]
    kept = [parse_anchor(p["detail"]["anchor"]) for p in hook.posts]
    assert kept[1].seq > kept[0].seq
    assert "Audit anchor: record" in hook.posts[0]["summary"]
    verdict = verify_installation(runtime, external=kept)
    assert verdict.ok and verdict.anchors >= 2, verdict.problem


@pytest.mark.parametrize(
    "settings",
    [
        NotifySettings(anchor_every_hours=24),  # no channel
        NotifySettings(webhook=WebhookChannel(url="http://127.0.0.1:9/"), anchor_every_hours=0),
        NotifySettings(webhook=WebhookChannel(url="http://127.0.0.1:9/"), events=["failed"]),
    ],
)
def test_no_anchor_notice_unless_wanted(runtime: Runtime, settings: NotifySettings):
    sent: list[object] = []
    anchors = AnchorNotices(settings, runtime.trail, lambda notice: sent.append(notice) or True)
    assert not anchors.tick() and sent == []
