"""Kill -9 the desktop bot at random moments while it drives the real client; re-run; prove
the client holds every record exactly once and the ledger agrees with it.

The client keeps running across the kills (as it would on a robot's desktop), so each run
attaches to whatever the dead one left on screen: a half-filled form, a question, a pop-up.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from tests.support import casework
from tests.support.casework import (
    BOT,
    RECIPE,
    app_db,
    assert_held_once_each,
    casework_rows,
    desktop_home,
    start_bot_run,
)
from tests.support.reliability import Kills, after, finish, in_order

pytestmark = [pytest.mark.xvfb, pytest.mark.slow, pytest.mark.timeout(300)]  # 48 s loaded
ROWS = 10


def start_client(home: Path, display: str, seed: int) -> subprocess.Popen[bytes]:
    options = ("--lock-rate", "0.1", "--seed", str(seed), "--save-delay-ms", "40")
    return casework.start_client(app_db(home), display, *options)


@pytest.mark.parametrize(("bot", "seed"), [(BOT, 1), (BOT, 2), (RECIPE, 1)])
def test_sigkill_at_random_moments_never_loses_or_doubles_a_record(
    tmp_path: Path, desktop_display: str, bot: str, seed: int
):
    rng = random.Random(seed)
    rows = casework_rows(ROWS, seed=seed)
    home = desktop_home(
        tmp_path,
        rows,
        borough={"ledger": {"lease_seconds": 600}, "audit": {"checkpoint_every": 500}},
        bot=bot,
    )
    client = start_client(home, desktop_display, seed)
    try:
        kills = Kills(rng)
        for _ in range(4):
            # kill while it works, whatever the machine's speed: after a random number (0-2)
            # of this run's records are saved, at a random moment within the next item
            work = after(home, "item.done", more=rng.randint(0, 2))
            point = in_order(after(home, "run.start"), work)
            kills.at(start_bot_run(home, desktop_display, bot), point, what="records", jitter=0.5)
        code, output = finish(start_bot_run(home, desktop_display, bot), timeout=240)
        assert code == 0, output
        assert client.poll() is None, "the client survived every kill"
    finally:
        client.terminate()
        client.wait(10)
    assert kills.landed >= 1, kills.report()

    assert_held_once_each(home, rows, bot)
