"""Change-of-circumstance notifications (CSV or Excel) -> cases in the casework web app.

Each notification becomes one case in Caseflow, the council's benefits casework system.
Notifications come as a CSV or Excel export, or as forms residents e-mail to the benefits
inbox: an ``.eml`` input (what a ``mailbox:`` trigger hands the run) is read for its CSV
and Excel attachments, and an attachment that cannot be read is a FAILED item saying why.
The bot searches the app first: a case staff already completed is left alone, a draft
case staff started is completed, otherwise a new case is created. The app's own case
reference is returned. ``find_existing`` asks the app the same question, so a run killed
between the save click and DONE never creates a second case.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from borough import Bot, BusinessRuleError, Item, NeedsReviewError, RetryPolicy, RunContext
from borough_examples.records import PERSONAL, CtrChange
from borough_examples.screens.caseflow import CaseworkScreens, weekly_text
from connectors.files import read_table
from connectors.mail import attachment_items, read_message
from connectors.web import WebSession


def _key(change: CtrChange) -> str:
    return change.key


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app: str = "casework"
    #: Caseflow runs with --save-later: cases wait in its unsaved work until Save all (give
    #: the bot's config save_every: N too; the runtime then presses Save all every N cases)
    save_later: bool = False


@dataclass(frozen=True)
class ExistingCase:
    reference: str
    status: str
    weekly: str


class ChangeOfCircumstances(Bot[CtrChange, Settings]):
    name: ClassVar[str] = "change-of-circumstances"
    version: ClassVar[str] = "1.0.0"
    description: ClassVar[str] = "Change-of-circumstance notifications into Caseflow cases"
    schema = CtrChange
    settings_model = Settings
    declares_intent = True
    retry = RetryPolicy(attempts=6, backoff_seconds=1, max_backoff_seconds=20)
    personal: ClassVar[dict[str, str]] = PERSONAL

    def items(self, ctx: RunContext[Settings]) -> Iterator[Item[CtrChange]]:
        source = ctx.inputs["notifications"]
        if source.suffix.lower() == ".eml":  # a form e-mailed in (a mailbox trigger's input)
            message = read_message(source)
            yield from attachment_items(message, CtrChange, key=_key, key_column="Claim Ref")
            return
        for row in read_table(source, CtrChange):
            yield row.to_item(key=_key, key_column="Claim Ref")

    def setup(self, ctx: RunContext[Settings]) -> None:
        """Sign in before the first item, so a refused credential stops the run at once."""
        self._web(ctx).run("sign-in", lambda: None)

    def _web(self, ctx: RunContext[Settings]) -> WebSession:
        return ctx.app(ctx.settings.app, WebSession)

    def process(self, ctx: RunContext[Settings], item: Item[CtrChange]) -> str | None:
        change = item.data
        web = self._web(ctx)
        screens = CaseworkScreens(web)
        existing = self._existing(screens, change)
        if existing is not None and existing.status != "Draft":
            ctx.step("already-in-app", target=web.name, reference=existing.reference)
            return existing.reference
        draft = existing.reference if existing is not None else None
        content = screens.open_form(draft)

        def fill_and_save() -> str | None:
            screens.fill(content, change, item.key)
            ctx.intent("update-draft" if draft else "create-case", target=web.name)
            return screens.save(content)

        try:
            reference = web.run("save", fill_and_save, repeatable=False)
            if reference is None and not ctx.settings.save_later:
                raise NeedsReviewError(
                    "Caseflow held the case in its unsaved work (it runs with --save-later): "
                    "set settings.save_later: true and save_every: N in the bot's config"
                )
            return reference  # None: held until the runtime's save()
        except BusinessRuleError as exc:
            if "Duplicate case" not in str(exc):
                raise
            # someone (or a late answer to an earlier attempt) saved it meanwhile
            again = self._existing(screens, change)
            if again is not None and again.status != "Draft":
                ctx.step("already-in-app", target=web.name, reference=again.reference)
                return again.reference
            raise

    def save(self, ctx: RunContext[Settings]) -> dict[str, str]:
        """Save all (Caseflow --save-later): the held cases are written, with references."""
        return CaseworkScreens(self._web(ctx)).save_all()

    def find_existing(self, ctx: RunContext[Settings], item: Item[CtrChange]) -> str | None:
        change = item.data
        found = self._existing(CaseworkScreens(self._web(ctx)), change)
        if found is None or found.status == "Draft":
            return None
        return found.reference

    def _existing(self, screens: CaseworkScreens, change: CtrChange) -> ExistingCase | None:
        """The app's case for this change, if any; a different amount needs a person."""
        effective = change.effective_from.strftime("%d/%m/%Y")
        matches = [
            row
            for row in screens.search(change.claim_ref)
            if row.get("Change") == change.change and row.get("Effective") == effective
        ]
        if not matches:
            return None
        if len(matches) > 1:
            refs = ", ".join(row["Case Ref"] for row in matches)
            raise NeedsReviewError(f"the app holds several cases for this change: {refs}")
        row = matches[0]
        found = ExistingCase(row["Case Ref"], row["Status"], row["Weekly"])
        wanted = weekly_text(change.weekly_amount)
        if found.status != "Draft" and found.weekly != wanted:
            raise NeedsReviewError(
                f"case {found.reference} already records this change with weekly amount "
                f"{found.weekly}, not {wanted}; check it in Caseflow"
            )
        return found
