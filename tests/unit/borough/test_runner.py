"""The run lifecycle: ingest, exactly-once processing, retries, recovery decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from borough.errors import InputError
from borough.ledger import ItemState, RunStatus
from borough.runner import RunRequest, run_bot
from borough.testing import counted_writes, runtime_in
from tests.support.installs import counting_home, people, people_csv


def states(runtime, bot="counting-bot"):
    return runtime.ledger.items.count_by_state(bot=bot)


def test_every_row_done_once_and_second_run_redoes_nothing(tmp_path: Path):
    home = counting_home(tmp_path, people(12))
    with runtime_in(home) as runtime:
        first = run_bot(runtime, RunRequest("counting-bot"))
        second = run_bot(runtime, RunRequest("counting-bot"))
    assert first.status is RunStatus.SUCCEEDED
    assert first.counts.done == 12 and first.counts.ingested == 12
    assert second.counts.done == 0 and second.counts.already_done == 12
    writes = counted_writes(home / "var/target.sqlite")
    assert writes == {f"R{i:04d}": 1 for i in range(1, 13)}


def test_done_items_keep_the_targets_reference(tmp_path: Path):
    home = counting_home(tmp_path, people(3))
    with runtime_in(home) as runtime:
        run_bot(runtime, RunRequest("counting-bot"))
        refs = sorted(i.reference for i in runtime.ledger.items.list(bot="counting-bot"))
    assert refs == ["REF-000001", "REF-000002", "REF-000003"]


def test_bad_rows_fail_with_reason_and_the_others_go_on(tmp_path: Path):
    rows = people(6, bad_every=3)
    rows[0]["Amount"] = 999  # valid row, broken business rule
    home = counting_home(tmp_path, rows)
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
        failed = runtime.ledger.items.list(bot="counting-bot", states=[ItemState.FAILED])
    assert run.status is RunStatus.COMPLETED_WITH_FAILURES
    assert run.counts.done == 3 and run.counts.failed == 3
    reasons = sorted(item.error for item in failed)
    assert reasons[0].startswith("amount for [name:p_")  # the name is tokenised, not shown
    assert "people.csv row 4: Amount: Input should be a valid integer" in reasons[1]
    assert "people.csv row 7: Amount" in reasons[2]
    assert sorted(item.source for item in failed) == [
        "people.csv row 2",
        "people.csv row 4",
        "people.csv row 7",
    ]
    assert set(counted_writes(home / "var/target.sqlite")) == {"R0002", "R0004", "R0005"}


def test_a_corrected_row_replaces_its_failed_item(tmp_path: Path):
    rows = people(2)
    rows[1]["Amount"] = "lots"
    home = counting_home(tmp_path, rows)
    with runtime_in(home) as runtime:
        run_bot(runtime, RunRequest("counting-bot"))
        rows[1]["Amount"] = 5
        (home / "input/people.csv").write_text(people_csv(rows), encoding="utf-8")
        again = run_bot(runtime, RunRequest("counting-bot"))
        assert states(runtime) == {ItemState.DONE: 2}
    assert again.counts.done == 1


def test_transient_faults_are_retried_until_done(tmp_path: Path):
    home = counting_home(tmp_path, people(20), target={"fail_before_rate": 0.4, "seed": 3})
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
        assert (
            states(runtime).get(ItemState.DONE, 0) + states(runtime).get(ItemState.FAILED, 0) == 20
        )
    assert run.counts.retried > 0
    writes = counted_writes(home / "var/target.sqlite")
    assert all(count == 1 for count in writes.values())


def test_fault_after_the_write_is_settled_by_lookup_not_resubmitted(tmp_path: Path):
    home = counting_home(tmp_path, people(15), target={"fail_after_rate": 0.5, "seed": 11})
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
        done = runtime.ledger.items.list(bot="counting-bot", states=[ItemState.DONE])
    assert run.counts.done == 15 and run.counts.retried == 0
    assert counted_writes(home / "var/target.sqlite") == {f"R{i:04d}": 1 for i in range(1, 16)}
    assert all(item.reference and item.reference.startswith("REF-") for item in done)


def test_without_a_lookup_an_uncertain_item_goes_to_review(tmp_path: Path):
    home = counting_home(tmp_path, people(3), bot="no-lookup-bot", target={"fail_after_rate": 1.0})
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("no-lookup-bot"))
        review = runtime.ledger.items.list(bot="no-lookup-bot", states=[ItemState.NEEDS_REVIEW])
    assert run.counts.needs_review == 3
    assert "cannot tell whether the target holds it" in review[0].error
    assert all(count == 1 for count in counted_writes(home / "var/target.sqlite").values())


def test_unreachable_target_is_rechecked_then_needs_review(tmp_path: Path):
    home = counting_home(
        tmp_path,
        people(2),
        bot="no-lookup-bot",
        target={"unreachable": True},
        retry={"attempts": 2, "backoff_seconds": 0.01},
    )
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("no-lookup-bot"))
    # process fails before anything is written (intent was recorded, so it is checked);
    # the check itself cannot tell, so the item waits for a person.
    assert run.counts.needs_review == 2


def test_intent_declaring_bot_retries_early_failures_without_lookup(tmp_path: Path):
    home = counting_home(
        tmp_path, people(5), bot="intent-bot", target={"fail_before_rate": 0.5, "seed": 2}
    )
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("intent-bot"))
    assert run.counts.done == 5
    assert all(count == 1 for count in counted_writes(home / "var/target.sqlite").values())


def test_dry_run_records_no_items_and_touches_no_target(tmp_path: Path):
    home = counting_home(tmp_path, people(4, bad_every=2))
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot", dry_run=True))
        assert runtime.ledger.items.list(bot="counting-bot") == []
    assert run.status is RunStatus.DRY_RUN
    assert run.counts.ingested == 2 and run.counts.failed == 2
    assert not (home / "var/target.sqlite").exists()


def test_missing_column_stops_the_run_with_a_clear_error(tmp_path: Path):
    home = counting_home(tmp_path, people(2))
    (home / "input/people.csv").write_text("Ref,Name\nR1,A\n", encoding="utf-8")
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
    assert run.status is RunStatus.FAILED
    assert "people.csv: missing column(s) 'Amount'; found: 'Ref', 'Name'" in run.error


def test_rows_read_before_an_input_error_stay_recorded(tmp_path: Path, monkeypatch):
    from tests.support import bots

    home = counting_home(tmp_path, people(150))
    original = bots.CountingBot.items

    def broken(self, ctx):
        for index, item in enumerate(original(self, ctx)):
            if index == 120:
                raise InputError("people.csv: the export stopped half-way")
            yield item

    monkeypatch.setattr(bots.CountingBot, "items", broken)
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("counting-bot"))
        recorded = sum(states(runtime).values())
    assert run.status is RunStatus.FAILED and "half-way" in run.error
    assert recorded == 120  # every row read before the error, the part batch included


def test_limit_stops_after_n_items_and_the_next_run_continues(tmp_path: Path):
    home = counting_home(tmp_path, people(5))
    with runtime_in(home) as runtime:
        first = run_bot(runtime, RunRequest("counting-bot", limit=2))
        second = run_bot(runtime, RunRequest("counting-bot"))
    assert first.counts.done == 2 and second.counts.done == 3


def test_unknown_input_name_is_refused(tmp_path: Path):
    home = counting_home(tmp_path, people(1))
    with runtime_in(home) as runtime, pytest.raises(InputError, match="unknown input 'xls'"):
        run_bot(runtime, RunRequest("counting-bot", inputs={"xls": "a.xlsx"}))


def test_a_refused_sign_in_stops_the_run_once_and_leaves_the_items_waiting(tmp_path: Path):
    """Without a sign-in in setup(), a wrong password used to fail every item as
    "unexpected SignInRefused", each needing a retry by hand."""
    home = counting_home(tmp_path, people(5), bot="refused-bot")
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("refused-bot"))
        left = states(runtime, bot="refused-bot")
    assert run.status is RunStatus.FAILED
    assert run.error is not None and "refused to sign in with secret 'counting-login'" in run.error
    assert "unexpected" not in run.error
    assert run.counts.failed == 0
    # the first item is parked in flight (its intent was recorded): the next run checks it
    # in the target before anything else, then works the others
    assert left == {ItemState.IN_FLIGHT: 1, ItemState.PENDING: 4}
