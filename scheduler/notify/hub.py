"""Which notices go out, how often, and on which channels, off the scheduler's threads.

A slow or broken mail server never delays a fire: notices queue for a sender thread,
each send is recorded in the audit trail (``notify.sent`` / ``notify.failed``), and the
same event of the same schedule is not repeated within ``repeat_after_minutes``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from loguru import logger

from borough.audit.trail import AuditTrail
from borough.ledger import RunRecord, RunStatus
from borough.secrets import SecretStore
from scheduler.config import EmailChannel, NotifySettings, WebhookChannel
from scheduler.notify.base import Notice, Notifier
from scheduler.notify.smtp import SmtpNotifier
from scheduler.notify.webhook import WebhookNotifier


def notifier_for(channel: EmailChannel | WebhookChannel, secrets: SecretStore) -> Notifier:
    """The notifier for a configured channel (``notify.email`` / ``notify.webhook``)."""
    if isinstance(channel, EmailChannel):
        return SmtpNotifier(channel, secrets)
    return WebhookNotifier(channel, secrets)


#: an event also sent to whoever asked for its broader one: a run stopped by UI drift
#: failed, so `events: [failed]` written before drift notices existed still gets them
BROADER = {"drift": "failed"}


def event_of(run: RunRecord) -> str | None:
    """The notice a finished run deserves, if any."""
    if run.status is RunStatus.FAILED and run.detail.get("drift"):
        return "drift"
    if run.status is RunStatus.COMPLETED_WITH_FAILURES:
        return "needs_review" if run.counts.needs_review else "failed"
    return {
        RunStatus.FAILED: "failed",
        RunStatus.CRASHED: "crashed",
        RunStatus.TIMED_OUT: "timed_out",
        RunStatus.MISSED: "missed",
    }.get(run.status)


def summary_of(run: RunRecord) -> str:
    counts = run.counts
    if run.status is RunStatus.COMPLETED_WITH_FAILURES:
        return (
            f"Run of {run.bot} finished: {counts.done} done, {counts.failed} failed, "
            f"{counts.needs_review} need review."
        )
    text = f"Run of {run.bot} ended {run.status.value.upper().replace('_', ' ')}."
    return f"{text} {run.error}" if run.error else text


def _detail(run: RunRecord) -> dict[str, str]:
    detail = {"status": run.status.value, "trigger": run.trigger}
    drifted = run.detail.get("drift")
    if drifted:
        apps = ", ".join(drifted)
        detail["drifted apps"] = apps
        detail["next step"] = f"borough check app {drifted[0]} (then --accept a fix)"
    return detail


class Notifications:
    def __init__(
        self,
        settings: NotifySettings,
        notifiers: Sequence[Notifier],
        trail: AuditTrail,
        *,
        redact: Callable[[str], str],
        council: str = "",
    ) -> None:
        self.settings = settings
        self.notifiers = list(notifiers)
        self.trail = trail.bind(actor="scheduler")
        self.redact = redact
        self.council = council
        self._last: dict[tuple[str, str], float] = {}
        self._queue: queue.Queue[Notice | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    def start(self) -> None:
        if self.notifiers and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="notify", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 30) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def drain(self, timeout: float = 30) -> bool:
        """Wait until every queued notice was sent or failed (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self._queue.unfinished_tasks

    def run_ended(self, run: RunRecord) -> bool:
        event = event_of(run)
        if event is None:
            return False
        return self.publish(
            Notice(
                event=event,
                bot=run.bot,
                schedule=run.schedule,
                run_id=run.id,
                when=run.ended_at or datetime.now(UTC),
                summary=self.redact(summary_of(run)),
                council=self.council,
                detail=_detail(run),
            )
        )

    def publish(self, notice: Notice) -> bool:
        """Queue ``notice`` if its event is wanted and was not just sent; True if queued."""
        if not self.notifiers or not self.wanted(notice.event):
            return False
        key = (notice.event, notice.schedule or notice.bot)
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.settings.repeat_after_minutes * 60:
            logger.bind(action="notify.suppressed").info(
                "not repeating {} notice for {} yet", notice.event, key[1]
            )
            return False
        self._last[key] = now
        self._queue.put(notice)
        return True

    def wanted(self, event: str) -> bool:
        events = self.settings.events
        return event in events or BROADER.get(event) in events

    def _loop(self) -> None:
        while True:
            notice = self._queue.get()
            try:
                if notice is None:
                    return
                for notifier in self.notifiers:
                    self._send(notifier, notice)
            finally:
                self._queue.task_done()

    def _send(self, notifier: Notifier, notice: Notice) -> None:
        trail = self.trail.bind(run_id=notice.run_id, bot=notice.bot)
        detail = {"event": notice.event, "schedule": notice.schedule, "to": notifier.describe()}
        try:
            notifier.send(notice)
        except Exception as exc:
            self.failed += 1
            error = self.redact(f"{type(exc).__name__}: {exc}")
            logger.bind(action="notify.failed").warning("{} failed: {}", notifier.kind, error)
            trail.emit(
                "notify.failed", outcome="error", target=notifier.kind, error=error, detail=detail
            )
            return
        self.sent += 1
        trail.emit("notify.sent", target=notifier.kind, detail=detail)
