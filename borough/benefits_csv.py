"""The benefit report as rows for a spreadsheet (CLI ``--csv``, the dashboard's download)."""

from __future__ import annotations

import csv
import io

from borough.benefits import BenefitReport, BotFigures
from borough.formulas import csv_safe

HEADER = [
    "month",
    "bot",
    "items_done",
    "done_by_a_person",
    "failed",
    "needs_review",
    "exception_rate",
    "runs",
    "robot_hours",
    "manual_minutes_per_item",
    "officer_hours_saved",
    "errors_avoided",
]


def _number(value: float | None, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


def figure_row(month: str, figures: BotFigures) -> list[object]:
    return [
        month,
        figures.bot,
        figures.done,
        figures.done_by_person,
        figures.failed,
        figures.needs_review,
        _number(figures.exception_rate, 4),
        figures.runs,
        _number(figures.robot_seconds / 3600),
        _number(figures.manual_minutes),
        _number(figures.hours_saved),
        _number(figures.errors_avoided),
    ]


def report_csv(report: BenefitReport) -> str:
    """Per bot, then the total; the twelve-month trend after a blank line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    month = str(report.month)
    writer.writerow(HEADER)
    for figures in report.bots:
        writer.writerow([csv_safe(cell) for cell in figure_row(month, figures)])
    total = figure_row(month, report.total)
    total[10] = _number(report.hours_saved)
    total[11] = _number(report.errors_avoided)
    writer.writerow(total)
    writer.writerow([])
    writer.writerow(["trend_month", "items_done", "officer_hours_saved", "exception_rate"])
    for point in report.trend:
        writer.writerow(
            [
                str(point.month),
                point.done,
                _number(point.hours_saved),
                _number(point.exception_rate, 4),
            ]
        )
    return out.getvalue()
