"""Runs per day: UK days (not UTC), outcome groups, a readable axis."""

from __future__ import annotations

from datetime import UTC, date, datetime

from borough.dashboard.charts import _nice, runs_per_day
from borough.ledger import RunRecord, RunStatus


def run(at: datetime, status: RunStatus) -> RunRecord:
    return RunRecord("r", "bot", "1", "manual", status, "host", None, at)


def test_runs_are_counted_on_their_uk_day_by_outcome():
    runs = [
        run(datetime(2026, 6, 9, 23, 30, tzinfo=UTC), RunStatus.SUCCEEDED),  # 00:30 BST on the 10th
        run(datetime(2026, 6, 10, 8, 0, tzinfo=UTC), RunStatus.CRASHED),
        run(datetime(2026, 6, 10, 9, 0, tzinfo=UTC), RunStatus.MISSED),
        run(datetime(2026, 5, 1, 9, 0, tzinfo=UTC), RunStatus.SUCCEEDED),  # before the window
    ]
    chart = runs_per_day(runs, today=date(2026, 6, 10), days=3)
    assert [d.day for d in chart.days] == [date(2026, 6, 8), date(2026, 6, 9), date(2026, 6, 10)]
    last = chart.days[-1]
    assert last.counts == {"ok": 1, "partial": 0, "failed": 1, "missed": 1, "other": 0}
    assert [s.key for s in last.segments] == ["ok", "failed", "missed"]
    assert chart.days[1].total == 0
    assert (
        "3 runs from 08 June to 10 June 2026; 2 failed, crashed, timed out or missed"
        in chart.summary
    )
    bottom = chart.baseline
    stacked = sum(s.height for s in last.segments)
    assert abs(last.segments[-1].y - (bottom - stacked)) < 1e-6


def test_axis_tops_are_round_numbers():
    assert [_nice(v) for v in (0, 3, 4, 5, 9, 17, 21, 130)] == [4, 4, 4, 8, 20, 20, 40, 200]
