"""borough.testing's in-memory run keeps the runner's contract, in milliseconds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field

from borough import Bot, BusinessRuleError, Item, NeedsReviewError, RunContext, SkipItem
from borough.errors import AppRefusedError, SecretsError, TransientError
from borough.ledger import ItemState
from borough.testing import MemorySecrets, MemoryTarget, OfflineRun, TestClock, memory_keys


class Row(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref: Annotated[str, Field(min_length=1)]
    amount: int = 0


class Settings(BaseModel):
    app: str = "target"
    login: str | None = None


def rows(*refs: str, **amounts: int) -> list[Item[Row]]:
    return [Item(ref, Row(ref=ref, amount=amounts.get(ref, 0))) for ref in refs]


class Writer(Bot[Row, Settings]):
    name: ClassVar[str] = "writer"
    schema = Row
    settings_model = Settings

    def __init__(self, source: list[Item[Row]] | None = None) -> None:
        self.source = source or []
        self.events: list[str] = []

    def items(self, ctx: RunContext[Settings]) -> Iterator[Item[Row]]:
        for item in self.source:
            self.events.append(f"read {item.key}")
            yield item

    def process(self, ctx: RunContext[Settings], item: Item[Row]) -> str:
        self.events.append(f"process {item.key}")
        if ctx.settings.login:
            ctx.secret(ctx.settings.login)
        if item.data.amount == 999:
            raise BusinessRuleError("over the limit")
        if item.data.amount == 998:
            raise NeedsReviewError("a person must decide")
        if item.data.amount == 997:
            raise SkipItem("nothing to do")
        ctx.step("write", target=ctx.settings.app)
        target: MemoryTarget = ctx.app(ctx.settings.app, MemoryTarget)
        return target.create(item.key, item.data)

    def find_existing(self, ctx: RunContext[Settings], item: Item[Row]) -> str | None:
        self.events.append(f"check {item.key}")
        return ctx.app(ctx.settings.app, MemoryTarget).find(item.key)


def offline(bot: Writer, app: MemoryTarget, **kw: Any) -> OfflineRun[Settings]:
    return OfflineRun(bot, apps={"target": app}, **kw)


def test_every_item_is_read_before_any_is_worked_and_a_second_run_skips_them():
    app = MemoryTarget()
    bot = Writer(rows("A", "B"))
    run = offline(bot, app)
    first = run.run()
    assert bot.events == ["read A", "read B", "process A", "process B"]
    assert first.states() == {"A": ItemState.DONE, "B": ItemState.DONE}
    assert first.outcomes["A"].reference == "REF-000001"
    second = run.run()
    assert second.outcomes == {} and second.already_done == 2
    assert dict(app.writes) == {"A": 1, "B": 1}
    assert [step["step"] for step in run.steps] == ["write", "write"]


def test_errors_decide_the_state_as_in_a_real_run():
    invalid = Item[Row]("bad", source="in.csv row 5", invalid="in.csv row 5: Ref: too short")
    bot = Writer([*rows("A", "B", "C", "D", A=999, B=998, C=997), invalid])
    result = offline(bot, MemoryTarget()).run()
    assert result.states() == {
        "A": ItemState.FAILED,
        "B": ItemState.NEEDS_REVIEW,
        "C": ItemState.SKIPPED,
        "D": ItemState.DONE,
        "bad": ItemState.FAILED,
    }
    assert result.outcomes["bad"].error == "in.csv row 5: Ref: too short"
    assert result.outcomes["A"].error == "over the limit"


def test_a_lost_answer_is_found_in_the_target_not_written_twice():
    app = MemoryTarget()
    app.fail_next(after_write=True)
    bot = Writer(rows("A"))
    outcome = offline(bot, app).run().outcomes["A"]
    assert outcome.state is ItemState.DONE and outcome.recovered
    assert app.writes["A"] == 1 and bot.events[-1] == "check A"


def test_a_fault_before_the_write_is_checked_then_retried_with_backoff_on_the_clock():
    app = MemoryTarget()
    app.fail_next(2)
    clock = TestClock()
    run = offline(Writer(rows("A")), app, clock=clock)
    outcome = run.run().outcomes["A"]
    assert outcome.state is ItemState.DONE and outcome.attempts == 3 and not outcome.recovered
    assert clock.slept == [2.0, 4.0]  # the bot's retry policy, waited on the test clock
    assert app.writes["A"] == 1


def test_an_app_that_cannot_answer_leaves_the_item_for_a_person():
    app = MemoryTarget()
    app.down = True
    outcome = offline(Writer(rows("A")), app).run().outcomes["A"]
    assert outcome.state is ItemState.NEEDS_REVIEW
    assert "the target could not be checked" in (outcome.error or "")


def test_intent_declared_by_the_bot_means_no_lookup_before_it():
    class Careful(Writer):
        declares_intent = True

        def process(self, ctx: RunContext[Settings], item: Item[Row]) -> str:
            if item.data.amount == 1:  # fails while preparing: the target is untouched
                raise TransientError("the form did not open")
            ctx.intent("save", target="target")
            return ctx.app("target", MemoryTarget).create(item.key)

    bot = Careful(rows("A", "B", A=1))
    run = offline(bot, MemoryTarget())
    result = run.run()
    assert result.outcomes["A"].state is ItemState.FAILED  # retried, never asked the target
    assert "gave up after 3 attempts" in (result.outcomes["A"].error or "")
    assert result.outcomes["B"].state is ItemState.DONE
    assert not any(event.startswith("check") for event in bot.events)
    intents = [e for e in run.trail.events if e["action"] == "item.intent"]
    assert [e["step"] for e in intents] == ["save"]


def test_a_refused_robot_stops_the_run():
    class Refused(Writer):
        def process(self, ctx: RunContext[Settings], item: Item[Row]) -> str:
            raise AppRefusedError("app 'target' refused to sign in")

    with pytest.raises(AppRefusedError):
        offline(Refused(rows("A")), MemoryTarget()).run()


def test_secrets_in_memory_reach_the_bot_and_missing_ones_say_how():
    seen: list[str] = []
    secrets = MemorySecrets({"login": "u:p"}, on_value=seen.append)
    run = offline(Writer(rows("A")), MemoryTarget(), secrets=secrets, settings={"login": "login"})
    assert run.run().done == 1 and seen == ["u:p"]
    secrets.set("other", "x")
    assert secrets.names() == ["login", "other"]
    with pytest.raises(SecretsError, match="no secret named 'nope'"):
        secrets.get("nope")
    missing = offline(Writer(rows("B")), MemoryTarget(), settings={"login": "nope"}).run()
    assert "no secret named 'nope'" in (missing.outcomes["B"].error or "")


def test_memory_keys_are_fresh_and_the_clock_moves_only_when_told():
    assert memory_keys().fingerprint() != memory_keys().fingerprint()
    clock = TestClock()
    start = clock.now()
    clock.advance(90)
    assert (clock.now() - start).total_seconds() == 90 and clock.monotonic() == 90


class Keying(Writer):
    """Keys rows into a client that keeps them until Save (``save_later``)."""

    name: ClassVar[str] = "keying"
    save_every: ClassVar[int] = 2

    def save(self, ctx: RunContext[Settings]) -> dict[str, str]:
        self.events.append("save")
        return ctx.app(ctx.settings.app, MemoryTarget).save()


def test_check_first_finds_what_the_target_already_holds_and_enters_only_the_rest():
    app = MemoryTarget()
    app.create("A")  # entered before this ledger existed
    bot = Writer(rows("A", "B"))
    result = offline(bot, app, check_first=True).run()
    assert bot.events == ["read A", "read B", "check A", "check B", "process B"]
    assert result.outcomes["A"].found_first and result.outcomes["A"].reference == "REF-000001"
    assert dict(app.writes) == {"A": 1, "B": 1}


def test_check_first_never_processes_an_item_it_could_not_look_up():
    app = MemoryTarget()
    app.down = True
    result = offline(Writer(rows("A")), app, check_first=True).run()
    assert result.outcomes["A"].state is ItemState.FAILED
    assert "could not be checked first" in (result.outcomes["A"].error or "")
    assert app.writes == {}


def test_a_save_later_bot_is_saved_every_n_items_and_at_the_end():
    app = MemoryTarget(save_later=True)
    bot = Keying(rows("A", "B", "C"))
    result = offline(bot, app).run()
    assert [e for e in bot.events if not e.startswith("read")] == [
        "process A",
        "process B",
        "save",
        "process C",
        "save",
    ]
    assert result.done == 3 and result.outcomes["C"].reference == "REF-000003"
    assert dict(app.writes) == {"A": 1, "B": 1, "C": 1} and app.unsaved == []


def test_a_failed_save_discards_what_the_app_holds_and_redoes_the_batch_once():
    app = MemoryTarget(save_later=True)
    app.fail_next_save()  # nothing kept; close() (the default discard) drops the unsaved
    result = offline(Keying(rows("A", "B")), app).run()
    assert result.done == 2
    assert dict(app.writes) == {"A": 1, "B": 1}


def test_an_item_failing_after_the_app_took_it_is_saved_then_found():
    app = MemoryTarget(save_later=True)
    app.fail_next(after_write=True)  # A is held by the app, then the bot fails
    result = offline(Keying(rows("A", "B")), app).run()
    assert result.outcomes["A"].state is ItemState.DONE and result.outcomes["A"].recovered
    assert dict(app.writes) == {"A": 1, "B": 1}
