"""200 files dropped in bursts while the scheduler is killed -9 and restarted: each file
taken once, none half-written. (``BOROUGH_TEST_DROPS=N`` drops N files instead.)"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest

from borough.audit.reading import iter_records
from borough.ledger import RunStatus
from borough.testing import counted_writes
from tests.support.events import (
    drop,
    events_home,
    kill_and_restart_at,
    rows_csv,
    runs_of,
    sha256,
    start_scheduler,
)
from tests.support.scheduling import wait_for

DROPS = int(os.environ.get("BOROUGH_TEST_DROPS", "200"))
ROWS = 3


def drop_in_bursts(inbox: Path, rng: random.Random) -> tuple[dict[str, bytes], list[str]]:
    """Every file's final content by name; the names whose content repeats an earlier one."""
    contents: dict[str, bytes] = {}
    duplicates: list[str] = []
    slow: list[threading.Thread] = []
    number = 0
    while number < DROPS:
        for _ in range(min(rng.randint(10, 30), DROPS - number)):
            name = f"export-{number:04d}.csv"
            if contents and rng.random() < 0.1:
                data = contents[rng.choice(sorted(contents))]
                duplicates.append(name)
            else:
                data = rows_csv([number * ROWS + row for row in range(ROWS)])
            contents[name] = data
            if rng.random() < 0.1:  # a slow writer: half the file is there for a while
                thread = threading.Thread(
                    target=drop, args=(inbox, name, data), kwargs={"chunks": 3, "pause": 0.5}
                )
                thread.start()
                slow.append(thread)
            else:
                drop(inbox, name, data)
            number += 1
        time.sleep(rng.uniform(0.2, 2.0))
    for thread in slow:
        thread.join()
    return contents, duplicates


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_each_dropped_file_is_taken_once_across_kill_9(tmp_path: Path):
    rng = random.Random(17)
    home = events_home(
        tmp_path,
        {
            "inbox": {
                "bot": "counting-bot",
                "file": {"folder": "inbox", "pattern": "*.csv", "settle_seconds": 1.5},
                "max_runs": 2,
                "poll_seconds": 0.3,
            }
        },
        scheduler={"max_concurrent_runs": 2},
    )
    inbox = home / "inbox"
    inbox.mkdir()
    scheduler = [start_scheduler(home, "first")]
    try:
        dropped: dict[str, object] = {}
        dropper = threading.Thread(
            target=lambda: dropped.update(
                zip(("contents", "dups"), drop_in_bursts(inbox, rng), strict=True)
            )
        )
        dropper.start()
        kills = kill_and_restart_at(
            home,
            scheduler,
            lambda f: len(runs_of(home, "inbox")) >= int(DROPS * f * 0.9),
            rng,
            "files",
        )
        dropper.join()
        contents: dict[str, bytes] = dropped["contents"]  # type: ignore[assignment]
        duplicates: list[str] = dropped["dups"]  # type: ignore[assignment]
        distinct = {sha256(data) for data in contents.values()}
        wait_for(
            lambda: (
                len(list((inbox / "processed").glob("*.csv"))) == len(distinct)
                and len(list((inbox / "rejected").glob("*.csv"))) == len(duplicates)
            ),
            600,
            "every file processed or rejected",
        )
    finally:
        scheduler[0].send_signal(signal.SIGTERM)
        scheduler[0].wait(60)
    assert kills == 2
    runs = runs_of(home, "inbox")
    taken = [r.detail["event"]["sha256"] for r in runs]
    assert sorted(taken) == sorted(distinct), "each distinct file started exactly one run"
    assert {r.status for r in runs} == {RunStatus.SUCCEEDED}
    starts = {
        r["run_id"]: r["detail"]["inputs"]["csv"]["sha256"]
        for r in iter_records(home / "logs/audit")
        if r["action"] == "run.start"
    }
    for run in runs:
        assert starts[run.id] == run.detail["event"]["sha256"], "the run read the whole file"
    expected = {f"R{n * ROWS + row}" for n in range(DROPS) for row in range(ROWS)}
    expected -= {f"R{int(name[7:11]) * ROWS + row}" for name in duplicates for row in range(ROWS)}
    assert counted_writes(home / "var/target.sqlite") == dict.fromkeys(expected, 1)
    rejected = sorted(p.name.split("-", 1)[1] for p in (inbox / "rejected").glob("*.csv"))
    assert rejected == sorted(duplicates)
    assert not [p for p in inbox.iterdir() if p.is_file()], "nothing left in the drop folder"
    assert not list((inbox / "processing").iterdir())
