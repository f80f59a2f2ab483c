"""Which procrastinate lock and queue a run gets, from the shipped apps and bots config."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from borough.config import load_config, resolve_paths
from scheduler.dispatch.base import QueuedRun
from scheduler.dispatch.procrastinate import ProcrastinateDispatcher, queue_for
from scheduler.errors import DispatchError
from scheduler.seats import SeatBook

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def seats() -> SeatBook:
    return SeatBook(load_config(resolve_paths({"BOROUGH_HOME": str(ROOT)})))


def queued(bot: str, seats: SeatBook) -> QueuedRun:
    return QueuedRun(
        run_id="20261123-090000-abc123",
        bot=bot,
        trigger="schedule:x",
        schedule="x",
        fire_time=None,
        created_at=datetime(2026, 11, 23, 9, tzinfo=UTC),
        apps=seats.apps_of(bot),
    )


def lock_of(run: QueuedRun, seats: SeatBook) -> str | None:
    # one-seat apps need no database: the dispatcher decides from the config alone
    return ProcrastinateDispatcher.seat_lock(SimpleNamespace(seats=seats), run)  # type: ignore[arg-type]


def test_a_bot_on_one_single_seat_app_holds_that_seat(seats: SeatBook):
    run = queued("change-of-circumstances", seats)
    assert lock_of(run, seats) == "seat:casework"
    assert queue_for(run, seats) == "app:casework"


def test_a_bot_needing_two_licence_seats_is_refused_with_what_to_change(seats: SeatBook):
    run = queued("casework-to-revenues-desktop", seats)
    assert run.apps == ("casework", "revenues-desktop")
    with pytest.raises(DispatchError) as refused:
        lock_of(run, seats)
    message = str(refused.value)
    assert "2 apps with licence seats (casework, revenues-desktop)" in message
    assert "list one of them under the bot's apps" in message
