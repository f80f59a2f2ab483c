"""A chained pair with a real scheduler: an export bot's runs start an entry bot's runs
(``after:``), and the runs an event starts wait for licence seats like any other."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from borough.audit.reading import iter_records
from borough.ledger import RunRecord, RunStatus
from borough.runtime import Runtime
from borough.testing import COUNTING_KIND, runtime_in
from scheduler.service import SchedulerService
from tests.support.events import events_home, runs_of
from tests.support.scheduling import child_env, wait_for

pytestmark = pytest.mark.timeout(240)


def test_an_after_chain_runs_once_per_upstream_end_and_waits_for_seats(tmp_path: Path):
    home = events_home(
        tmp_path,
        {
            "entry": {
                "bot": "sleepy-b",
                "after": {"bot": "sleepy-a", "succeeded_only": True},
                "priority": 1,  # the export's second run (9) takes the seat first
                "poll_seconds": 0.3,
            }
        },
        bots={"sleepy-a": {"seconds": 1.5}, "sleepy-b": {"seconds": 0.5}},
        schedules={"export": {"bot": "sleepy-a", "cron": "0 0 1 1 *", "priority": 9}},
        apps={"counting": {"kind": COUNTING_KIND, "path": "var/target.sqlite", "max_sessions": 1}},
        scheduler={"max_concurrent_runs": 2},
    )
    with runtime_in(home) as runtime:
        service = SchedulerService(runtime, env=child_env(home))
        service.start()
        try:
            exports = [service.book.run_now("export", "user:test") for _ in range(2)]
            wait_for(
                lambda: (
                    all(runtime.ledger.runs.get(r.id).status.finished for r in exports)
                    and sum(len(r.detail["event"]["runs"]) for r in ended(runtime)) == 2
                ),
                120,
                "both exports and the entry runs after them to end",
            )
        finally:
            service.stop()
        exports = [runtime.ledger.runs.get(r.id) for r in exports]
    entries = runs_of(home, "entry")
    assert all(r.trigger == "event:after:entry" for r in entries)
    assert [r.status for r in entries] == [RunStatus.SUCCEEDED] * len(entries)
    started_for = [run for r in entries for run in r.detail["event"]["runs"]]
    assert sorted(started_for) == sorted(r.id for r in exports), "once per upstream end"

    # one seat on the app: no two runs (export or entry) ever held it at once
    spans = sorted((r.started_at, r.ended_at) for r in [*exports, *entries])
    for (_, ended_at), (started_at, _) in itertools.pairwise(spans):
        assert ended_at is not None and started_at is not None and ended_at <= started_at
    waiting = [r for r in iter_records(home / "logs/audit") if r["action"] == "run.waiting"]
    first_entry = min(entries, key=lambda r: r.created_at)
    assert any(
        r["run_id"] == first_entry.id and "licence seat on counting" in r["detail"]["waiting_for"]
        for r in waiting
    ), "the event run waited for the seat the export's second run held"
    fired = [r for r in iter_records(home / "logs/audit") if r["action"] == "trigger.fired"]
    assert {r["run_id"] for r in fired} == {r.id for r in entries}


def ended(runtime: Runtime) -> list[RunRecord]:
    """The entry bot's runs that have ended."""
    return [r for r in runtime.ledger.runs.list(schedule="entry") if r.status.finished]
