"""``borough report benefits``: what the bots did in a month and the officer time it saved."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from borough.cli._common import LONDON, console, errors_reported, noun_app, opened_view, usage

if TYPE_CHECKING:
    from borough.benefits import BenefitReport

app = noun_app("report")


@app.command("benefits")
def benefits(
    month: Annotated[
        str | None,
        typer.Option(metavar="YYYY-MM", help="the month (UK time); default: this month"),
    ] = None,
    csv_file: Annotated[
        str | None,
        typer.Option("--csv", metavar="FILE", help="also write the figures as CSV (- : stdout)"),
    ] = None,
) -> None:
    """Items done, failed and needing review, robot run time, officer hours saved and the
    exception rate, per bot and in total, with the trend over twelve months.

    Figures come from the ledger only. Hours saved = items the robot did x the bot's
    `manual_minutes_per_item` (config/bots/NAME.yaml); items a person resolved as done
    are shown apart and save nothing. See docs/operations.md (benefit reporting).
    """
    from borough.benefits import BenefitsError, Month, benefit_report
    from borough.benefits_csv import report_csv

    try:
        wanted = Month.parse(month) if month else Month.of(datetime.now(LONDON).date())
    except BenefitsError as exc:
        usage(str(exc))
    with opened_view() as view, errors_reported():
        report = benefit_report(view.ledger.engine, view.config, wanted)
    if csv_file == "-":
        typer.echo(report_csv(report), nl=False)
        return
    _print(report)
    if csv_file:
        from borough import filemodes

        path = Path(csv_file)
        filemodes.write_private(path, report_csv(report).encode("utf-8"))
        console.print(f"wrote {escape(str(path))}")


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _print(report: BenefitReport) -> None:
    table = Table(title=f"Benefits, {report.month}", title_justify="left")
    for column in ("bot", "done", "by a person", "failed", "needs review", "exception rate",
                   "robot time (h)", "min/item", "hours saved", "errors avoided"):  # fmt: skip
        table.add_column(column, justify="left" if column == "bot" else "right")
    for figures in [*report.bots, report.total]:
        total = figures is report.total
        table.add_row(
            "[bold]total[/]" if total else escape(figures.bot),
            str(figures.done),
            str(figures.done_by_person),
            str(figures.failed),
            str(figures.needs_review),
            _rate(figures.exception_rate),
            f"{figures.robot_seconds / 3600:,.1f}",
            "" if total else _hours(figures.manual_minutes),
            _hours(report.hours_saved if total else figures.hours_saved),
            _hours(report.errors_avoided if total else figures.errors_avoided),
            end_section=figures is report.bots[-1] if report.bots else False,
        )
    console.print(table)
    if report.undeclared:
        console.print(
            f"No manual_minutes_per_item for: {escape(', '.join(report.undeclared))} "
            "(their hours saved are not counted; set it in config/bots/NAME.yaml)",
            style="yellow",
        )
    peak = max((p.hours_saved for p in report.trend), default=0.0) or 1.0
    trend = Table(title="Twelve months", title_justify="left")
    for column in ("month", "done", "hours saved", "", "exception rate"):
        trend.add_column(column, justify="right" if column not in ("", "month") else "left")
    for point in report.trend:
        bar = "█" * round(20 * point.hours_saved / peak)
        trend.add_row(str(point.month), str(point.done), _hours(point.hours_saved), bar,
                      _rate(point.exception_rate))  # fmt: skip
    console.print(trend)
