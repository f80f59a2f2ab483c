"""The dashboard's schedule pages over the scheduler's operator API.

Only the CLI wires ``scheduler`` in (DESIGN dependency rules), so this adapter lives here
and ``borough serve dashboard`` hands it to the dashboard. The scheduler records pause, resume
and run-now in the audit trail with the actor it is given (``user:<name>``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from borough.dashboard.schedules import ScheduleRow
from borough.runtime import Runtime

if TYPE_CHECKING:
    from scheduler.operate import Operator


class SchedulerControl:
    """``ScheduleControl`` backed by ``scheduler.operate.Operator``."""

    def __init__(self, runtime: Runtime) -> None:
        from scheduler.config import load_schedules

        self._runtime = runtime
        load_schedules(runtime.config)  # a broken schedules.yaml fails at start, clearly

    def _operator(self, actor: str) -> Operator:
        from scheduler.config import load_schedules
        from scheduler.operate import Operator

        # schedules.yaml is read afresh, so edits show without restarting the dashboard
        return Operator(self._runtime, actor=actor, schedules=load_schedules(self._runtime.config))

    def status(self) -> str | None:
        holder = self._operator("dashboard").holder()
        if holder is None:
            return None
        return f"pid {holder.get('pid')} on {holder.get('host')}"

    def list(self) -> list[ScheduleRow]:
        operator = self._operator("dashboard")
        rows = []
        for row in operator.rows():
            entry = operator.schedules.entries.get(row.name)
            rows.append(
                ScheduleRow(
                    id=row.name,
                    bot=row.bot,
                    when=row.when,  # the trigger's own words name its calendar
                    next_fire=row.next_fire,
                    state=row.state,
                    description=entry.description if entry is not None else "",
                    last=row.last,
                    queued=row.queued,
                    running=row.running,
                    waiting_for=row.waiting_for,
                )
            )
        return rows

    def pause(self, schedule_id: str, *, actor: str) -> str:
        return str(self._operator(actor).pause(schedule_id))

    def resume(self, schedule_id: str, *, actor: str) -> str:
        return str(self._operator(actor).resume(schedule_id))

    def run_now(self, schedule_id: str, *, actor: str) -> str:
        record = self._operator(actor).run_now(schedule_id)
        return f"Run {record.id} of {record.bot} queued: the scheduler starts it when seats allow"
