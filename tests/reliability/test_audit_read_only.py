"""The audit folder is read-only (a read-only bind mount: root ignores file modes).

Reading commands work as usual; a run refuses to start any work, in one clear line with
exit code 3, and is recorded FAILED; nothing is DONE without its record.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.ledger import ItemState, RunStatus
from borough.testing import home_env, runtime_in
from tests.reliability.conftest import mounted_read_only
from tests.support.installs import counting_home, people, people_csv

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.mark.usefixtures("mounts")
def test_reading_commands_work_and_runs_refuse_on_a_read_only_trail(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    home = counting_home(tmp_path / "home", people(4))
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    assert invoke("run", "counting-bot").exit_code == 0
    (home / "input/people.csv").write_text(people_csv(people(8)), "utf-8")
    audit = home / "logs/audit"
    before = (audit / "audit.jsonl").read_bytes()
    with mounted_read_only(audit):
        verified = invoke("audit", "verify")
        assert verified.exit_code == 0 and "OK" in verified.output, verified.output
        for args in (
            ("runs", "list"),
            ("items", "list"),
            ("items", "show", "1"),
            ("audit", "export", "--format", "jsonl"),
        ):
            result = invoke(*args)
            assert result.exit_code == 0, (args, result.output)
        sar = invoke("audit", "sar", "Person 2")
        assert sar.exit_code == 0 and "item.done" in sar.output
        assert "this search could not be recorded" in sar.output

        run = invoke("run", "counting-bot")
        assert run.exit_code == 3, run.output
        assert "is on a read-only file system" in run.output
        assert (audit / "audit.jsonl").read_bytes() == before
    with runtime_in(home) as runtime:
        latest = runtime.ledger.runs.list(limit=1)[0]
        assert latest.status is RunStatus.FAILED
        counts = runtime.ledger.items.count_by_state(bot="counting-bot")
        assert counts == {ItemState.DONE: 4}, "no work may start without its record"
