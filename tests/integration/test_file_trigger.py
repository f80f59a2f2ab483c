"""File triggers with a real scheduler and real run processes: each file taken once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from borough.audit.reading import iter_records
from borough.ledger import RunStatus
from borough.testing import counted_writes, runtime_in
from scheduler.service import SchedulerService
from tests.support.events import drop, events_home, rows_csv, runs_of, sha256
from tests.support.scheduling import child_env, wait_for

pytestmark = pytest.mark.timeout(240)


def actions(home: Path, prefix: str) -> list[dict]:
    return [r for r in iter_records(home / "logs/audit") if r["action"].startswith(prefix)]


def test_dropped_files_each_start_one_run_and_move_on(tmp_path: Path):
    home = events_home(
        tmp_path,
        {
            "inbox": {
                "bot": "counting-bot",
                "file": {"folder": "inbox", "pattern": "*.csv", "settle_seconds": 1},
                "max_runs": 2,
                "poll_seconds": 0.3,
            }
        },
    )
    inbox = home / "inbox"
    inbox.mkdir()
    first, second, broken = rows_csv([1, 2]), rows_csv([3]), b"Ref,Name\nnot,a row\n"
    drop(inbox, "a.csv", first)
    drop(inbox, "b.csv", second)
    drop(inbox, "again.csv", first)  # same content under another name
    drop(inbox, "ignored.txt", b"not matched by the pattern")
    drop(inbox, "broken.csv", broken)
    slow = threading.Thread(
        target=drop,
        args=(inbox, "slow.csv", rows_csv([4, 5, 6])),
        kwargs={"chunks": 4, "pause": 0.4},
    )
    with runtime_in(home) as runtime:
        service = SchedulerService(runtime, env=child_env(home))
        service.start()
        try:
            slow.start()
            slow.join()
            wait_for(
                lambda: (
                    len(list((inbox / "processed").glob("*.csv"))) == 3
                    and len(list((inbox / "rejected").glob("*.csv"))) == 2
                ),
                120,
                "three files processed, a duplicate and a broken file rejected",
            )
        finally:
            service.stop()
    runs = runs_of(home, "inbox")
    assert len(runs) == 4, "one run per distinct file"
    assert all(r.trigger == "event:file:inbox" for r in runs)
    by_hash = {r.detail["event"]["sha256"]: r for r in runs}
    assert set(by_hash) == {
        sha256(first),
        sha256(second),
        sha256(broken),
        sha256(rows_csv([4, 5, 6])),
    }
    assert by_hash[sha256(broken)].status is RunStatus.FAILED
    assert counted_writes(home / "var/target.sqlite") == {f"R{i}": 1 for i in range(1, 7)}
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["ignored.txt"]
    assert not list((inbox / "processing").iterdir())
    rejected = sorted(p.name.split("-", 1)[1] for p in (inbox / "rejected").glob("*.csv"))
    assert rejected == ["again.csv", "broken.csv"]
    whys = {p.name.split("-", 1)[1]: p.read_text() for p in (inbox / "rejected").glob("*.why.txt")}
    assert "same content" in whys["again.csv.why.txt"]
    assert "FAILED" in whys["broken.csv.why.txt"]
    fired = actions(home, "trigger.fired")
    assert len(fired) == 4 and {r["run_id"] for r in fired} == {r.id for r in runs}
    assert [r["detail"]["file"] for r in actions(home, "trigger.file.duplicate")] == ["again.csv"]
    assert len(actions(home, "trigger.file.processed")) == 3
