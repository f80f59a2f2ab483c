"""Benefit reporting: what the bots did in a month and what it saved, from the ledger only.

For each bot: items done by the robot, done by a person (resolved by an operator: not a
saving), failed, needing review, the robot's run time, officer hours saved (robot-done
items x the bot's ``manual_minutes_per_item``), keying errors avoided (x its
``manual_error_rate``), and the exception rate (failed + needing review over all items
that reached an outcome). An item counts in the month (UK time) its current state was
reached; a run counts in the month it started. Dry runs count for nothing.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, literal_column, select

from borough.errors import BoroughError
from borough.ledger import ItemState, RunStatus
from borough.ledger.schema import items, runs

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from borough.config.loader import Config

LONDON = ZoneInfo("Europe/London")
TREND_MONTHS = 12
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class BenefitsError(BoroughError):
    """The benefit report cannot be made (a bad month)."""


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = _MONTH.match(text.strip())
        if found is None:
            raise BenefitsError(f"month {text!r}: write YYYY-MM, e.g. 2026-11")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def shift(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def bounds(self) -> tuple[datetime, datetime]:
        """The month's first instant and the next month's, in UTC (months are UK time)."""
        following = self.shift(1)
        start = datetime(self.year, self.month, 1, tzinfo=LONDON)
        end = datetime(following.year, following.month, 1, tzinfo=LONDON)
        return start.astimezone(UTC), end.astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass
class BotFigures:
    """One bot's month. ``manual_minutes`` is None when the bot does not declare it."""

    bot: str
    done: int = 0
    done_by_person: int = 0
    failed: int = 0
    needs_review: int = 0
    runs: int = 0
    robot_seconds: float = 0.0
    manual_minutes: float | None = None
    manual_error_rate: float | None = None

    @property
    def outcomes(self) -> int:
        return self.done + self.done_by_person + self.failed + self.needs_review

    @property
    def exception_rate(self) -> float | None:
        """Failed and needing review over every item that reached an outcome."""
        return (self.failed + self.needs_review) / self.outcomes if self.outcomes else None

    @property
    def hours_saved(self) -> float | None:
        if self.manual_minutes is None:
            return None
        return self.done * self.manual_minutes / 60

    @property
    def errors_avoided(self) -> float | None:
        if self.manual_error_rate is None:
            return None
        return self.done * self.manual_error_rate

    def add(self, other: BotFigures) -> None:
        self.done += other.done
        self.done_by_person += other.done_by_person
        self.failed += other.failed
        self.needs_review += other.needs_review
        self.runs += other.runs
        self.robot_seconds += other.robot_seconds


@dataclass
class TrendPoint:
    month: Month
    done: int
    hours_saved: float
    exception_rate: float | None


@dataclass
class BenefitReport:
    month: Month
    bots: list[BotFigures]
    total: BotFigures
    hours_saved: float
    errors_avoided: float
    trend: list[TrendPoint] = field(default_factory=list)
    undeclared: list[str] = field(default_factory=list)  #: bots without manual minutes


def benefit_report(engine: Engine, config: Config, month: Month) -> BenefitReport:
    """The report for ``month`` with its trend over the twelve months that end with it.

    Two queries whatever the span (items grouped by month, bot and outcome; the runs of
    the span), not two per month: a report over a large ledger reads it once.
    """
    months = [month.shift(-back) for back in range(TREND_MONTHS - 1, -1, -1)]
    by_month = figures_by_month(engine, config, months)
    figures = by_month[month]
    total = BotFigures("total")
    for bot in figures:
        total.add(bot)
    trend = []
    for when in months:
        rows = by_month[when]
        sums = BotFigures("total")
        for bot in rows:
            sums.add(bot)
        trend.append(
            TrendPoint(
                when,
                sums.done,
                sum(b.hours_saved or 0.0 for b in rows),
                sums.exception_rate,
            )
        )
    return BenefitReport(
        month=month,
        bots=figures,
        total=total,
        hours_saved=sum(b.hours_saved or 0.0 for b in figures),
        errors_avoided=sum(b.errors_avoided or 0.0 for b in figures),
        trend=trend,
        undeclared=sorted(b.bot for b in figures if b.manual_minutes is None),
    )


def month_figures(engine: Engine, config: Config, month: Month) -> list[BotFigures]:
    """Every bot with an item outcome or a run in ``month``, by name."""
    return figures_by_month(engine, config, [month])[month]


def figures_by_month(
    engine: Engine, config: Config, months: list[Month]
) -> dict[Month, list[BotFigures]]:
    """For consecutive ``months``: every bot with an item outcome or a run in each, by name."""
    edges = [m.bounds()[0] for m in months] + [months[-1].bounds()[1]]
    found: dict[tuple[Month, str], BotFigures] = {}
    declared: dict[str, BotFigures] = {}

    def bot(month: Month, name: str) -> BotFigures:
        if (month, name) not in found:
            if name not in declared:
                declared[name] = _declared(BotFigures(name), config)
            template = declared[name]
            found[month, name] = BotFigures(
                name,
                manual_minutes=template.manual_minutes,
                manual_error_rate=template.manual_error_rate,
            )
        return found[month, name]

    with engine.connect() as conn:
        for index, name, state, person, count in conn.execute(_item_query(edges)):
            figures = bot(months[index], name)
            if state == ItemState.DONE.value:
                if person:
                    figures.done_by_person += count
                else:
                    figures.done += count
            elif state == ItemState.FAILED.value:
                figures.failed += count
            else:
                figures.needs_review += count
        for name, started, ended in conn.execute(_run_query(edges[0], edges[-1])):
            figures = bot(months[bisect_right(edges, _utc(started)) - 1], name)
            figures.runs += 1
            if started is not None and ended is not None:
                figures.robot_seconds += max((ended - started).total_seconds(), 0.0)
    return {month: [found[key] for key in sorted(found) if key[0] == month] for month in months}


def _item_query(edges: list[datetime]) -> Select[int, str, str, bool, int]:
    """Item outcomes counted by month (its index in ``edges``), bot, state and who did it.

    The month and "by a person" are worked out in a subquery and grouped by name outside:
    PostgreSQL binds each use of a parameter separately, so grouping by the expression
    itself would not match the one selected.
    """
    outcome_states = [ItemState.DONE.value, ItemState.FAILED.value, ItemState.NEEDS_REVIEW.value]
    # an operator who resolved it "as done" did the work, not the robot (a retried item the
    # robot then did keeps its "retry by ..." resolution, and counts as the robot's)
    by_person = func.coalesce(items.c.resolution, "").like(f"% as {ItemState.DONE.value} by %")
    whens = [(items.c.updated_at < edge, index) for index, edge in enumerate(edges[1:-1])]
    last = len(edges) - 2
    month = case(*whens, else_=last) if whens else literal_column(str(last))
    outcomes = (
        select(
            month.label("month"),
            items.c.bot,
            items.c.state,
            by_person.label("by_person"),
        )
        .where(
            and_(
                items.c.updated_at >= edges[0],
                items.c.updated_at < edges[-1],
                items.c.state.in_(outcome_states),
            )
        )
        .subquery()
    )
    columns = (outcomes.c.month, outcomes.c.bot, outcomes.c.state, outcomes.c.by_person)
    return select(*columns, func.count()).group_by(*columns)


def _run_query(start: datetime, end: datetime) -> Select[str, datetime, datetime | None]:
    return select(runs.c.bot, runs.c.started_at, runs.c.ended_at).where(
        and_(
            runs.c.started_at >= start,
            runs.c.started_at < end,
            runs.c.status != RunStatus.DRY_RUN.value,
        )
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _declared(figures: BotFigures, config: Config) -> BotFigures:
    try:
        bot_config = config.bot_config(figures.bot)
    except BoroughError:  # a broken config file: the figures still stand, without savings
        bot_config = None
    if bot_config is not None:
        figures.manual_minutes = bot_config.manual_minutes_per_item
        figures.manual_error_rate = bot_config.manual_error_rate
    return figures
