"""Event triggers as an operator sees them (`borough schedules list|status|pause|resume`).

Reads need only the ledger (a read-only view will do). Pausing writes a row in the
trigger events table, with its ``trigger.paused`` record in the same transaction; a
running scheduler's event loop sees it at its next look (within a second), so pause and
resume need no scheduler to be running. While paused a trigger is not looked at: files
stay in the folder, messages in the mailbox, run ends and queue conditions accumulate,
and all of them start runs once it is resumed (nothing is missed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from borough.audit.trail import AuditTrail
from borough.ledger import Ledger, RunRecord, RunStatus
from scheduler.config import Schedules
from scheduler.events.book import EVENT_TRIGGER
from scheduler.events.config import TriggerConfig
from scheduler.events.store import EventStore, last_events, paused_triggers
from scheduler.events.window import Window


@dataclass
class TriggerRow:
    """One line of the triggers table of `borough schedules list`."""

    name: str
    bot: str
    kind: str
    watches: str
    state: str  # active | paused | disabled
    last_event: datetime | None
    window: str  # "open" or when it next opens
    last: RunRecord | None
    queued: int
    running: int


def describe(trigger: TriggerConfig) -> str:
    """What the trigger watches, in a few words."""
    if trigger.file is not None:
        return f"files {trigger.file.folder}/{trigger.file.pattern}"
    if trigger.mailbox is not None:
        return f"mailbox {trigger.mailbox.app} {trigger.mailbox.folder or '(its folder)'}"
    if trigger.queue is not None:
        spec = trigger.queue
        parts = []
        if spec.pending is not None:
            parts.append(f">= {spec.pending} due")
        if spec.oldest_minutes is not None:
            parts.append(f"oldest {spec.oldest_minutes:g} min")
        return f"items of {spec.bot or trigger.bot}: {' or '.join(parts)}"
    assert trigger.after is not None
    only = " (succeeded)" if trigger.after.succeeded_only else ""
    return f"after {trigger.after.bot}{only}"


def window_of(schedules: Schedules, trigger: TriggerConfig) -> Window:
    calendar = schedules.calendars[trigger.calendar] if trigger.calendar else None
    hours = trigger.hours
    return Window(calendar, hours.start if hours else None, hours.end if hours else None)


def trigger_rows(schedules: Schedules, ledger: Ledger, now: datetime) -> list[TriggerRow]:
    paused = paused_triggers(ledger.engine)
    latest = last_events(ledger.engine)
    rows = []
    for name, trigger in sorted(schedules.triggers.items()):
        state = "disabled" if not trigger.enabled else "paused" if name in paused else "active"
        window = window_of(schedules, trigger)
        opens = "open" if window.is_open(now) else f"opens {window.next_open(now):%a %d %b %H:%M}"
        recent = [r for r in ledger.runs.list(schedule=name, limit=50) if _is_event(r)]
        rows.append(
            TriggerRow(
                name=name,
                bot=trigger.bot,
                kind=trigger.kind,
                watches=describe(trigger),
                state=state,
                last_event=latest.get(name),
                window=opens,
                last=next((r for r in recent if r.status.finished), None),
                queued=sum(1 for r in recent if r.status is RunStatus.QUEUED),
                running=sum(1 for r in recent if r.status is RunStatus.RUNNING),
            )
        )
    return rows


def _is_event(run: RunRecord) -> bool:
    return run.trigger.startswith(EVENT_TRIGGER)


def pause(schedules: Schedules, ledger: Ledger, trail: AuditTrail, name: str, actor: str) -> str:
    trigger = schedules.triggers[name]

    def audit() -> None:
        trail.bind(bot=trigger.bot).emit(
            "trigger.paused", detail={"trigger": name, "kind": trigger.kind}
        )

    if not EventStore(ledger.engine).pause(name, trigger.kind, actor, audit=audit):
        return f"trigger {name} was already paused"
    return f"trigger {name} paused: its events wait until `borough schedules resume {name}`"


def resume(schedules: Schedules, ledger: Ledger, trail: AuditTrail, name: str) -> str:
    trigger = schedules.triggers[name]

    def audit() -> None:
        trail.bind(bot=trigger.bot).emit(
            "trigger.resumed", detail={"trigger": name, "kind": trigger.kind}
        )

    if not EventStore(ledger.engine).resume(name, audit=audit):
        return f"trigger {name} was not paused"
    return f"trigger {name} resumed: events that waited start runs at its next look"
