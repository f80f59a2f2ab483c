"""Officer hours saved per month as a server-drawn SVG bar chart (no script, no library).

Like the runs chart, it is an image with a text summary, and the page gives the same
numbers in a table: nothing is told by the bars alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from borough.benefits import BenefitReport

WIDTH, HEIGHT = 720, 240
LEFT, BOTTOM, TOP = 48, 36, 10
COLOUR = "#1d70b8"  # GOV.UK blue


@dataclass(frozen=True)
class Bar:
    label: str
    hours: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class HoursChart:
    bars: list[Bar]
    ticks: list[tuple[str, float]]
    summary: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM
    colour: str = COLOUR


def hours_chart(report: BenefitReport) -> HoursChart:
    points = report.trend
    peak = max((p.hours_saved for p in points), default=0.0)
    top = _nice(peak)
    span = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(points), 1)
    bars = []
    for index, point in enumerate(points):
        height = span * point.hours_saved / top if top else 0.0
        bars.append(
            Bar(
                label=f"{point.month.year % 100:02d}-{point.month.month:02d}",
                hours=point.hours_saved,
                x=LEFT + index * slot + slot * 0.15,
                y=HEIGHT - BOTTOM - height,
                width=slot * 0.7,
                height=height,
            )
        )
    ticks = [(f"{top * n / 4:g}", HEIGHT - BOTTOM - span * n / 4) for n in range(5)] if top else []
    total = sum(p.hours_saved for p in points)
    best = max(points, key=lambda p: p.hours_saved, default=None)
    summary = f"Officer hours saved in the twelve months to {report.month}: {total:,.1f}."
    if best is not None and best.hours_saved:
        summary += f" The most was {best.hours_saved:,.1f} hours, in {best.month}."
    return HoursChart(bars, ticks, summary)


def _nice(value: float) -> float:
    """A round top for the axis at or above ``value`` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 0.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value * 10:
        step /= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10
