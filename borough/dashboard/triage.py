"""What needs a person, found fast: items by filter, newest first, and grouped by bot and reason.

Read-only queries over the ledger's item table (the ledger's own ``list`` serves the bots;
triage needs dates, reason text and newest-first, so the dashboard asks here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import Engine, Select, func, or_, select

from borough.ledger import ItemState
from borough.ledger.schema import items

LONDON = ZoneInfo("Europe/London")
ATTENTION = (ItemState.FAILED, ItemState.NEEDS_REVIEW)
_NUMBERS = re.compile(r"\b\d+(?:[.,]\d+)*\b")


def last_working_day_start(now: datetime) -> datetime:
    """00:00 (UK) of the working day before today: Monday morning looks back to Friday,
    the day after a bank holiday (England and Wales) to the day before it."""
    bank = holidays.country_holidays("GB", subdiv="ENG")
    day = now.astimezone(LONDON).date() - timedelta(days=1)
    while day.weekday() >= 5 or day in bank:
        day -= timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=LONDON)


@dataclass
class Filters:
    """What an operator narrowed the item list to (every field optional)."""

    bot: str = ""
    run: str = ""
    states: list[ItemState] = field(default_factory=list)
    since: date | None = None  #: changed on or after this UK day
    until: date | None = None  #: changed on or before this UK day
    reason: str = ""  #: text the error contains (case-insensitive)
    token: str = ""  #: the item's key token or a subject's token

    @property
    def active(self) -> bool:
        return any(
            (self.bot, self.run, self.states, self.since, self.until, self.reason, self.token)
        )


def _where(query: Select[Any], f: Filters) -> Select[Any]:
    if f.bot:
        query = query.where(items.c.bot == f.bot)
    if f.run:
        query = query.where(or_(items.c.last_run == f.run, items.c.first_run == f.run))
    if f.states:
        query = query.where(items.c.state.in_([s.value for s in f.states]))
    if f.since:
        query = query.where(items.c.updated_at >= datetime.combine(f.since, time(0), LONDON))
    if f.until:
        end = datetime.combine(f.until + timedelta(days=1), time(0), LONDON)
        query = query.where(items.c.updated_at < end)
    if f.reason:
        query = query.where(func.lower(items.c.error).contains(f.reason.lower(), autoescape=True))
    if f.token:
        query = query.where(
            or_(items.c.key_token == f.token, items.c.subjects.contains(f.token, autoescape=True))
        )
    return query


def find(engine: Engine, f: Filters, *, limit: int, offset: int = 0) -> list[int]:
    """Ids of the matching items, most recently changed first."""
    query = _where(select(items.c.id), f)
    query = query.order_by(items.c.updated_at.desc(), items.c.id.desc())
    with engine.connect() as conn:
        return list(conn.execute(query.limit(limit).offset(offset)).scalars())


def bots(engine: Engine) -> list[str]:
    """Every bot with items in the ledger (a filter can name one without a config file)."""
    with engine.connect() as conn:
        return sorted(conn.execute(select(items.c.bot).distinct()).scalars())


def count(engine: Engine, f: Filters) -> int:
    query = _where(select(func.count(items.c.id)), f)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


@dataclass(frozen=True)
class Group:
    """Items of one bot that need a person for (about) the same reason."""

    bot: str
    reason: str
    failed: int
    review: int
    latest: datetime

    @property
    def total(self) -> int:
        return self.failed + self.review

    @property
    def search(self) -> str:
        """The longest part of the reason without masked numbers, to filter the items by."""
        return max(self.reason.split("…"), key=len).strip()


def reason_of(error: str | None) -> str:
    """The error's first line, with standalone numbers masked (they differ per item)."""
    first = (error or "no error recorded").strip().splitlines()[0] if error else "no error recorded"
    return _NUMBERS.sub("…", first)[:160]


def groups(engine: Engine, since: datetime) -> list[Group]:
    """FAILED and NEEDS_REVIEW items changed since ``since``, by bot and reason, most first."""
    query = select(items.c.bot, items.c.state, items.c.error, items.c.updated_at).where(
        items.c.state.in_([s.value for s in ATTENTION]), items.c.updated_at >= since
    )
    found: dict[tuple[str, str], Group] = {}
    with engine.connect() as conn:
        for bot, state, error, updated in conn.execute(query):
            key = (bot, reason_of(error))
            seen = found.get(key) or Group(bot, key[1], 0, 0, updated)
            failed = seen.failed + (state == ItemState.FAILED.value)
            review = seen.review + (state != ItemState.FAILED.value)
            found[key] = Group(bot, key[1], failed, review, max(seen.latest, updated))
    made = list(found.values())
    return sorted(made, key=lambda g: (-g.total, g.bot, g.reason))
