"""Bots used by tests: they drive the write-counting fake target (borough.testing)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from borough import Bot, BusinessRuleError, Item, RetryPolicy, RunContext
from borough.errors import AppRefusedError, ConnectorError
from borough.testing import CountingTarget
from connectors.files import read_table
from connectors.mail import MailConnector, attachment_items


class Person(BaseModel):
    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True, frozen=True)

    ref: Annotated[str, Field(alias="Ref", pattern=r"^R\d+$")]
    name: Annotated[str, Field(alias="Name", min_length=1)]
    email: Annotated[str, Field(alias="Email", default="")]
    amount: Annotated[int, Field(alias="Amount", ge=0)]


class CountingBot(Bot[Person]):
    """Writes each row to the counting target; rows with amount 999 break a business rule."""

    name: ClassVar[str] = "counting-bot"
    version: ClassVar[str] = "1.0.0"
    schema = Person
    personal: ClassVar[dict[str, str]] = {"name": "name", "email": "email"}
    retry = RetryPolicy(attempts=4, backoff_seconds=0.01, max_backoff_seconds=0.05)

    def items(self, ctx: RunContext) -> Iterator[Item[Person]]:
        for row in read_table(ctx.inputs["csv"], Person):
            yield row.to_item(key="ref", key_column="Ref")

    def target(self, ctx: RunContext) -> CountingTarget:
        return ctx.app("counting", CountingTarget)

    def process(self, ctx: RunContext, item: Item[Person]) -> str | None:
        person = item.data
        if person.amount == 999:
            raise BusinessRuleError(f"amount for {person.name} is over the limit")
        ctx.step("create", target="counting")
        pause = float((ctx.settings or {}).get("pause_seconds", 0))
        if pause:
            time.sleep(pause)
        secret_name = (ctx.settings or {}).get("use_secret")
        if secret_name:
            ctx.log.info("logging in with {}", ctx.secret(secret_name))
        reference = self.target(ctx).create(item.key, person.name)
        pause_after = float((ctx.settings or {}).get("pause_after_seconds", 0))
        if pause_after:
            time.sleep(pause_after)
        return reference

    def find_existing(self, ctx: RunContext, item: Item[Person]) -> str | None:
        return self.target(ctx).find(item.key)


class NoLookupBot(CountingBot):
    """Like CountingBot but cannot check the target (no find_existing)."""

    name: ClassVar[str] = "no-lookup-bot"
    find_existing = Bot.find_existing


class RefusedBot(CountingBot):
    """Its app refuses the robot's credential at the first item (a wrong password)."""

    name: ClassVar[str] = "refused-bot"

    def process(self, ctx: RunContext, item: Item[Person]) -> str:
        raise AppRefusedError("app 'counting' refused to sign in with secret 'counting-login'")


class IntentBot(CountingBot):
    """Declares its intent itself, just before the write."""

    name: ClassVar[str] = "intent-bot"
    declares_intent = True

    def process(self, ctx: RunContext, item: Item[Person]) -> str | None:
        target = self.target(ctx)
        ctx.step("prepare")
        ctx.intent("create", target="counting")
        return target.create(item.key, item.data.name)


class MailCountingBot(CountingBot):
    """Rows of the CSV/Excel attachments of a received message (a mailbox trigger's
    ``message`` input) to the counting target; replies with ``settings.reply`` if set."""

    name: ClassVar[str] = "mail-bot"

    def mailbox(self, ctx: RunContext) -> MailConnector:
        return ctx.app((ctx.settings or {}).get("mailbox", "inbox"), MailConnector)

    def setup(self, ctx: RunContext) -> None:
        if (ctx.settings or {}).get("refuse"):
            raise ConnectorError("told to refuse this run")

    def items(self, ctx: RunContext) -> Iterator[Item[Person]]:
        message = self.mailbox(ctx).read(ctx.inputs["message"])
        yield from attachment_items(message, Person, key="ref", key_column="Ref")

    def teardown(self, ctx: RunContext) -> None:
        template = (ctx.settings or {}).get("reply")
        if template:
            connector = self.mailbox(ctx)
            message = connector.read(ctx.inputs["message"])
            connector.reply(message, template, run=ctx.run_id)


class SavingBot(CountingBot):
    """Its app keeps what it is given until "Save" (the counting target's ``save_later``):
    the runtime saves every ``save_every`` items."""

    name: ClassVar[str] = "saving-bot"
    save_every: ClassVar[int] = 5

    def save(self, ctx: RunContext) -> dict[str, str]:
        pause = float((ctx.settings or {}).get("save_pause_seconds", 0))
        if pause:
            time.sleep(pause)
        return self.target(ctx).save()
