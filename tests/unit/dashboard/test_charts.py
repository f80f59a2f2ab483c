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


def test_both_charts_draw_the_same_frame_with_their_own_bars():
    """The runs chart and the hours-saved chart share one SVG frame (partials/svg_chart.html):
    title and summary for screen readers, value axis with its labels, baseline."""
    import re
    from pathlib import Path

    from jinja2 import Environment, FileSystemLoader

    from borough.benefits import BenefitReport, BotFigures, Month, TrendPoint
    from borough.dashboard import charts
    from borough.dashboard.benefit_chart import hours_chart

    folder = Path(charts.__file__).parent / "templates"
    env = Environment(loader=FileSystemLoader(folder), autoescape=True)
    runs = [run(datetime(2026, 6, 10, 8, 0, tzinfo=UTC), RunStatus.SUCCEEDED) for _ in range(3)]
    runs_chart = runs_per_day(runs, today=date(2026, 6, 10), days=3)
    months = [Month(2026, 1).shift(n) for n in range(12)]
    trend = [TrendPoint(m, 10, float(n), None) for n, m in enumerate(months)]
    report = BenefitReport(Month(2026, 12), [], BotFigures("total"), 11.0, 0.0, trend)
    drawn = {
        "chart": env.get_template("partials/chart.html").render(chart=runs_chart),
        "trend": env.from_string(
            '{% from "partials/svg_chart.html" import svg_chart %}'
            '{% call svg_chart(chart, "trend", "Hours") %}<rect id="bar"></rect>{% endcall %}'
        ).render(chart=hours_chart(report)),
    }
    for name, chart in (("chart", runs_chart), ("trend", hours_chart(report))):
        svg = drawn[name].split("<svg", 1)[1].split("</svg>", 1)[0]
        assert f'aria-labelledby="{name}-title {name}-desc"' in svg
        assert f'<desc id="{name}-desc">{chart.summary} The numbers' in svg
        labels = re.findall(r'text-anchor="end">([^<]*)</text>', svg)
        assert labels == [str(value) for value, _ in chart.ticks] and len(labels) == 5
        assert f'y1="{chart.baseline}" y2="{chart.baseline}" stroke="#0b0c0c"' in svg
        assert svg.count("<rect") >= 1, "the caller's bars are inside the frame"
