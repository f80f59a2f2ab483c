"""Runs over time as a server-drawn SVG bar chart (no chart library, no script).

The chart is an image with a text summary; the same numbers are in a table beside it,
so nothing is told by colour or shape alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from borough.ledger import RunRecord, RunStatus

LONDON = ZoneInfo("Europe/London")

#: Chart groups, in stacking order: (key, label, statuses).
GROUPS: tuple[tuple[str, str, frozenset[RunStatus]], ...] = (
    ("ok", "Succeeded", frozenset({RunStatus.SUCCEEDED})),
    ("partial", "Finished with failures", frozenset({RunStatus.COMPLETED_WITH_FAILURES})),
    (
        "failed",
        "Failed, crashed or timed out",
        frozenset({RunStatus.FAILED, RunStatus.CRASHED, RunStatus.TIMED_OUT}),
    ),
    ("missed", "Missed", frozenset({RunStatus.MISSED})),
    (
        "other",
        "Other (running, queued, cancelled, dry run)",
        frozenset({RunStatus.RUNNING, RunStatus.QUEUED, RunStatus.CANCELLED, RunStatus.DRY_RUN}),
    ),
)
COLOURS = {
    "ok": "#0f7a52",
    "partial": "#805c00",
    "failed": "#ca3535",
    "missed": "#54319f",
    "other": "#505a5f",
}
WIDTH, HEIGHT = 720, 240
LEFT, BOTTOM, TOP = 40, 36, 10


@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    count: int
    y: float
    height: float
    colour: str


@dataclass(frozen=True)
class Day:
    day: date
    label: str
    total: int
    counts: dict[str, int]
    x: float
    width: float
    segments: list[Segment]


@dataclass(frozen=True)
class Chart:
    days: list[Day]
    top: int
    ticks: list[tuple[int, float]]
    summary: str
    groups: list[tuple[str, str, str]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM


def _group(status: RunStatus) -> str:
    return next(key for key, _, statuses in GROUPS if status in statuses)


def runs_per_day(runs: Iterable[RunRecord], *, today: date, days: int = 14) -> Chart:
    """Runs created on each of the last ``days`` UK days, stacked by outcome group."""
    first = today - timedelta(days=days - 1)
    counts: dict[date, Counter[str]] = {first + timedelta(d): Counter() for d in range(days)}
    for run in runs:
        day = run.created_at.astimezone(LONDON).date()
        if day in counts:
            counts[day][_group(run.status)] += 1
    top = max([sum(c.values()) for c in counts.values()] + [1])
    top = _nice(top)
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / days
    out: list[Day] = []
    for index, (day, counter) in enumerate(sorted(counts.items())):
        y: float = HEIGHT - BOTTOM
        segments = []
        for key, label, _ in GROUPS:
            count = counter.get(key, 0)
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            segments.append(Segment(key, label, count, y, h, COLOURS[key]))
        out.append(
            Day(
                day=day,
                label=day.strftime("%a %d %b"),
                total=sum(counter.values()),
                counts={key: counter.get(key, 0) for key, _, _ in GROUPS},
                x=LEFT + index * slot + slot * 0.15,
                width=slot * 0.7,
                segments=segments,
            )
        )
    step = max(1, top // 4)
    ticks = [(v, HEIGHT - BOTTOM - plot_h * v / top) for v in range(0, top + 1, step)]
    total = sum(d.total for d in out)
    bad = sum(d.counts["failed"] + d.counts["missed"] for d in out)
    summary = (
        f"{total} runs from {first:%d %B} to {today:%d %B %Y}; {bad} failed, crashed, "
        f"timed out or missed. The busiest day had {max(d.total for d in out)} runs."
    )
    groups = [(key, label, COLOURS[key]) for key, label, _ in GROUPS]
    return Chart(out, top, ticks, summary, groups)


def _nice(value: int) -> int:
    """Round the axis top up to 1, 2 or 5 times a power of ten (at least 4 for clean ticks)."""
    value = max(value, 4)
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if value <= factor * magnitude * 4 and (factor * magnitude * 4) % 4 == 0:
                return factor * magnitude * 4
        magnitude *= 10
