"""What ``borough schedules sync`` would change, field by field.

A stored job keeps, besides its trigger and grace, the settings its fires depend on as they
were at the last sync (``settings`` in the job's kwargs): the schedule's own fields and what
it takes from the bot's config and ``apps.yaml`` (max run time, apps, licence seats). So a
sync can say exactly what changed — ``priority 5 -> 7``, ``closures added 24 Dec 2026`` —
rather than repeat the same trigger text on both sides of an arrow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from borough.config.loader import Config
from scheduler.config import Schedules
from scheduler.triggers import BoroughTrigger

if TYPE_CHECKING:
    from borough.ledger import RunRecord
    from scheduler.store import JobView

#: Stored setting -> how an operator reads it.
LABELS = {
    "description": "description",
    "priority": "priority",
    "max_run_minutes": "max run minutes",
    "on_missed": "on_missed",
    "inputs": "inputs",
    "queue": "queue",
    "apps": "apps of the bot",
    "seats": "licence seats",
    "runs": "runs",
}
#: What a setting stored by an older borough (which did not record it) meant.
STORED_DEFAULTS: dict[str, Any] = {"runs": 1}


@dataclass
class SyncPlan:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    #: fires of changed or removed schedules that fell due while no scheduler ran
    missed: list[RunRecord] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


def schedule_settings(name: str, schedules: Schedules, config: Config) -> dict[str, Any]:
    """What a fire of ``name`` depends on beyond its trigger, as JSON-safe values."""
    schedule = schedules.entries[name]
    bot = config.bot_config(schedule.bot)  # a broken bot config fails the sync, by file:line
    apps = sorted(bot.apps) if bot is not None else []
    seats = {
        app: config.apps[app].max_sessions
        for app in apps
        if app in config.apps and config.apps[app].max_sessions
    }
    return {
        "description": schedule.description,
        "priority": schedule.priority,
        "max_run_minutes": schedules.max_run_seconds(name, config) / 60,
        "on_missed": schedule.on_missed,
        "inputs": dict(sorted(schedule.inputs.items())),
        "queue": schedule.queue,
        "apps": apps,
        "seats": seats,
        "runs": schedule.runs,
    }


def plan_sync(current: dict[str, JobView], schedules: Schedules, config: Config) -> SyncPlan:
    """What ``sync`` would change to make the stored jobs match ``schedules``."""
    plan = SyncPlan()
    for name, schedule in sorted(schedules.active.items()):
        view = current.get(name)
        trigger = schedules.trigger(name)
        if view is None:
            plan.added.append(name)
            plan.details[name] = trigger.describe()
            continue
        changes = trigger_changes(view.trigger, trigger)
        if view.bot != schedule.bot:
            changes.append(f"bot {view.bot} -> {schedule.bot}")
        if view.grace != schedule.misfire_grace_seconds:
            changes.append(
                f"misfire_grace_seconds {view.grace} -> {schedule.misfire_grace_seconds}"
            )
        changes += settings_changes(view.settings, schedule_settings(name, schedules, config))
        if changes:
            plan.changed.append(name)
            plan.details[name] = "; ".join(changes)
        else:
            plan.unchanged.append(name)
    plan.removed = sorted(set(current) - set(schedules.active))
    for name in plan.removed:
        plan.details[name] = str(current[name].trigger)
    return plan


def trigger_changes(old: BoroughTrigger, new: BoroughTrigger) -> list[str]:
    """The trigger's change in words: its description, then its calendar's days off."""
    if old == new:
        return []
    changes = []
    old_text, new_text = str(old), new.describe()
    if old_text != new_text:
        changes.append(f"{old_text} -> {new_text}")
    before = getattr(old, "definition", {}).get("calendar") or {}
    after = new.definition.get("calendar") or {}
    changes += _calendar_changes(before, after)
    if not changes:
        changes.append(f"{new_text}: the trigger's definition changed")
    return changes


def _calendar_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    if before == after:
        return []
    name = after.get("name") or before.get("name") or "?"
    changes = []
    if before.get("region") != after.get("region") and before and after:
        changes.append(f"calendar {name} region {before.get('region')} -> {after.get('region')}")
    old_days, new_days = set(before.get("closures") or []), set(after.get("closures") or [])
    if new_days - old_days:
        changes.append(f"calendar {name} closures added {_days(new_days - old_days)}")
    if old_days - new_days:
        changes.append(f"calendar {name} closures removed {_days(old_days - new_days)}")
    old_annual = {_annual(a) for a in before.get("annual") or []}
    new_annual = {_annual(a) for a in after.get("annual") or []}
    if new_annual - old_annual:
        changes.append(
            f"calendar {name} annual closures added {', '.join(sorted(new_annual - old_annual))}"
        )
    if old_annual - new_annual:
        changes.append(
            f"calendar {name} annual closures removed {', '.join(sorted(old_annual - new_annual))}"
        )
    return changes


def _days(days: set[date]) -> str:
    shown = sorted(days)
    text = ", ".join(day.strftime("%d %b %Y") for day in shown[:5])
    return text + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")


def _annual(value: Any) -> str:
    (start_month, start_day), (end_month, end_day) = value
    return f"{start_day:02d}/{start_month:02d}-{end_day:02d}/{end_month:02d}"


def settings_changes(stored: dict[str, Any] | None, wanted: dict[str, Any]) -> list[str]:
    """Each setting that differs, ``name old -> new``, in a fixed order."""
    if stored is None:
        return ["settings recorded for the first time (stored by an older borough)"]
    changes = []
    for key, label in LABELS.items():
        before, after = stored.get(key, STORED_DEFAULTS.get(key)), wanted.get(key)
        if before != after:
            changes.append(f"{label} {_show(before)} -> {_show(after)}")
    return changes


def _show(value: Any) -> str:
    if value is None or value in ({}, [], ""):
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)
