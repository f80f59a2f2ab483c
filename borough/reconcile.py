"""``borough ledger reconcile``: make the audit trail account for every ledger state.

Since write-ahead auditing, a ledger change commits only after its record is in the trail.
Ledgers written before it (or by a borough killed at the wrong moment) can hold states the
trail never recorded: items with no ``item.ingested``, DONE items with no ``item.done``,
finished runs with no end record. This finds them and appends *reconstruction records*:
the missing action, written by actor ``borough``, with ``detail.reconstructed`` saying
what was rebuilt, from what, and when. Nothing already recorded is written again, so a
second pass writes nothing. Dead runs are reaped first (a run killed after its ``run.end``
finishes as it recorded).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from borough.audit import reading
from borough.audit.trail import AuditTrail
from borough.ledger import ItemState, RunStatus
from borough.ledger.schema import items, runs
from borough.reaper import reap_dead_runs
from borough.runtime import Runtime

BY = "borough ledger reconcile"
#: Records that end a run (whatever ended it).
RUN_ENDS = frozenset(
    {"run.end", "run.dry_run", "run.reaped", "schedule.missed"}
    | {f"run.{status.value}" for status in RunStatus if status.finished}
)
#: The item state each record leaves behind (None: it depends; see the record's outcome).
ITEM_STATES: dict[str, ItemState | None] = {
    "item.ingested": None,
    "item.corrected": None,
    "item.intent": ItemState.IN_FLIGHT,
    "item.adopted": ItemState.IN_FLIGHT,
    "item.check_later": ItemState.IN_FLIGHT,
    "item.retry": ItemState.PENDING,
    "item.recovered": ItemState.PENDING,
    "item.released": ItemState.PENDING,
    "item.retry_requested": ItemState.PENDING,
    "item.resolved": None,
    "item.abandoned": None,
    **{f"item.{state.value}": state for state in ItemState if state.terminal},
}
INGESTS = frozenset({"item.ingested", "item.corrected"})


@dataclass(frozen=True)
class Gap:
    """One ledger state the trail does not account for, and the record that would."""

    action: str
    what: str  # e.g. "item 12 of counting-bot is DONE"
    bot: str
    run_id: str | None
    item: str | None = None
    outcome: str = "ok"
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    reaped: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    written: int = 0
    before_trail: int = 0  #: ledger rows older than the trail's first record (purged)


@dataclass
class _Seen:
    """What the trail says about one item (bot, token)."""

    ingested: bool = False
    state: ItemState | None = None


def reconcile(runtime: Runtime, *, dry_run: bool = False) -> Report:
    """Find (and unless ``dry_run``, fill) the gaps between ledger and trail."""
    report = Report()
    trail = runtime.trail.bind(actor="borough")
    if not dry_run:
        reaped = reap_dead_runs(
            runtime.ledger.runs, trail, runtime.config.settings.ledger, by="reconcile"
        )
        report.reaped = [r.run.id for r in reaped]
    item_rows, run_rows = _ledger(runtime)  # read before the trail: write-ahead order
    seen_items, ended_runs, first_ts = _trail(runtime)
    for row in item_rows:
        if first_ts is None or row.created_at < first_ts:
            report.before_trail += 1
            continue
        report.gaps.extend(_item_gaps(row, seen_items.get((row.bot, row.key_token), _Seen())))
    for row in run_rows:
        if first_ts is None or row.created_at < first_ts:
            report.before_trail += 1
            continue
        if row.id not in ended_runs:
            report.gaps.append(_run_gap(row))
    if not dry_run:
        for gap in report.gaps:
            _write(trail, gap)
            report.written += 1
    return report


def _ledger(runtime: Runtime) -> tuple[list[Any], list[Any]]:
    finished = [s.value for s in RunStatus if s.finished]
    with runtime.ledger.engine.connect() as conn:
        item_rows = conn.execute(select(items).order_by(items.c.id)).all()
        run_rows = conn.execute(
            select(runs).where(runs.c.status.in_(finished)).order_by(runs.c.created_at)
        ).all()
    return list(item_rows), list(run_rows)


def _trail(
    runtime: Runtime,
) -> tuple[dict[tuple[str, str], _Seen], set[str], datetime | None]:
    seen: dict[tuple[str, str], _Seen] = {}
    ended: set[str] = set()
    first_ts: datetime | None = None
    for record in _records(runtime):
        if first_ts is None and isinstance(record.get("ts"), str):
            first_ts = datetime.fromisoformat(record["ts"])
        action = record.get("action")
        if action in RUN_ENDS and record.get("run_id"):
            ended.add(record["run_id"])
        if action not in ITEM_STATES or not record.get("item") or not record.get("bot"):
            continue
        entry = seen.setdefault((record["bot"], record["item"]), _Seen())
        if action in INGESTS:
            entry.ingested = True
        entry.state = _state_after(action, record.get("outcome"))
    return seen, ended, first_ts


def _records(runtime: Runtime) -> Iterator[dict[str, Any]]:
    return reading.iter_records(runtime.paths.audit)


def _state_after(action: str, outcome: Any) -> ItemState | None:
    state = ITEM_STATES[action]
    if state is not None:
        return state
    try:
        return ItemState(outcome)
    except ValueError:
        return None


def _item_gaps(row: Any, seen: _Seen) -> list[Gap]:
    what = f"item {row.id} of {row.bot}"
    base = {
        "bot": row.bot,
        "run_id": row.last_run or row.first_run,
        "item": row.key_token,
        "fields": {
            "subjects": (row.subjects or "").split(),
            "data_categories": (row.data_categories or "").split(),
            "ledger_id": row.id,
        },
    }
    gaps = []
    if not seen.ingested:
        outcome = "failed" if row.invalid else "pending"
        gaps.append(Gap("item.ingested", f"{what} is in the ledger", outcome=outcome, **base))
    state = ItemState(row.state)
    if state.terminal and seen.state is not state:
        gaps.append(
            Gap(
                f"item.{state.value}",
                f"{what} is {state.value.upper()}",
                outcome=state.value,
                **{**base, "fields": {**base["fields"], "reference": row.reference}},
            )
        )
    return gaps


def _run_gap(row: Any) -> Gap:
    return Gap(
        "run.end",
        f"run {row.id} of {row.bot} ended {row.status.upper()}",
        bot=row.bot,
        run_id=row.id,
        outcome=row.status,
        fields={"counts": json.loads(row.counts or "{}"), "error": row.error},
    )


def _write(trail: AuditTrail, gap: Gap) -> None:
    fields = dict(gap.fields)
    subjects = fields.pop("subjects", [])
    categories = fields.pop("data_categories", [])
    error = fields.pop("error", None)
    detail = {
        **{k: v for k, v in fields.items() if v is not None},
        "reconstructed": {
            "what": f"the {gap.action} record missing from the trail",
            "from": f"the ledger ({gap.what})",
            "by": BY,
        },
    }
    trail.bind(run_id=gap.run_id, bot=gap.bot).emit(
        gap.action,
        outcome=gap.outcome,
        item=gap.item,
        error=error,
        subjects=subjects,
        data_categories=categories,
        detail=detail,
    )
