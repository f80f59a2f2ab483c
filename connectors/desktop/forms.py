"""Entering a form and reading it back, and what the app's pop-ups mean for the item.

Every field is read back right after it is pasted, then the whole form once more just before
saving (an app may clear or reformat one field when another changes). A field that will not
hold its value is re-entered once, and a differing read is read again once (a key the app
dropped must not fail an item); if it still differs, the item fails before anything is
saved. Messages name the field, never its value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from borough.errors import BusinessRuleError, NeedsReviewError, TransientError
from connectors.desktop.session import Focus, Session


@dataclass(frozen=True)
class Field:
    """One form field: its label (for messages), the value, and how to reach it.

    ``normalise`` (optional) is applied to the value entered and to the text read back
    before they are compared, for an app that shows a value its own way (upper case, a
    date or amount reformatted): ``normalise=str.upper``, or a function of your own.
    """

    label: str
    value: str
    focus: Focus | None
    normalise: Callable[[str], str] | None = None

    def holds(self, text: str) -> bool:
        """Whether the field's read-back ``text`` is the value entered."""
        if self.normalise is None:
            return text == self.value
        return self.normalise(text) == self.normalise(self.value)


#: the desktop connector's form field, under a name that does not clash with pydantic's
FormField = Field


@dataclass(frozen=True)
class Dialog:
    """A pop-up the app showed: its title and message text."""

    title: str
    text: str


def difference(expected: str, got: str) -> str:
    """How a read-back differs, without showing either value."""
    if got == "":
        return "the field is empty"
    if expected.startswith(got):
        return f"the app kept {len(got)} of {len(expected)} characters"
    if got.strip() == expected.strip():
        return "spaces differ"
    if got.casefold() == expected.casefold():
        return "letter case differs"
    return f"the text differs ({len(got)} characters held, {len(expected)} entered)"


def enter_fields(session: Session, fields: Sequence[Field]) -> None:
    """Paste each field's value and confirm it by read-back (one re-entry on a mismatch)."""
    for field in fields:
        held = session.fill_field(field.focus, field.value, field.label)
        if not field.holds(held):
            held = session.fill_field(field.focus, field.value, field.label)
        if not field.holds(held):
            raise BusinessRuleError(
                f"field {field.label!r} does not hold what was entered: "
                f"{difference(field.value, held)}; nothing was saved",
                app=session.app,
                step="verify",
            )


def verify_fields(session: Session, fields: Sequence[Field]) -> None:
    """Read every field back; BusinessRuleError naming each one that differs."""
    wrong = []
    for field in fields:
        held = session.read_field(field.focus, field.value, field.label)
        if not field.holds(held):  # read once more: a dropped focus key reads the wrong field
            held = session.read_field(field.focus, field.value, field.label)
        if not field.holds(held):
            wrong.append(f"{field.label!r} ({difference(field.value, held)})")
    if wrong:
        raise BusinessRuleError(
            f"read-back before saving found {', '.join(wrong)}; nothing was saved",
            app=session.app,
            step="verify",
        )


def await_dialog(session: Session, timeout: float | None = None) -> Dialog:
    """Wait for one of the configured pop-ups, read and close it, and act on its meaning.

    ``ok`` pop-ups are returned; ``business_rule`` raises BusinessRuleError, ``transient``
    TransientError (retried) and ``needs_review`` NeedsReviewError, each with the app's text.
    """
    outcomes = session.settings.dialogs
    title = session.wait_for(
        lambda t: t in outcomes, f"one of the pop-ups {', '.join(map(repr, outcomes))}", timeout
    )
    assert title is not None
    text = read_dialog(session, title)
    outcome = outcomes[title]
    if outcome == "ok":
        return Dialog(title, text)
    message = text or f"the app showed {title!r}"
    error = {
        "business_rule": BusinessRuleError,
        "transient": TransientError,
        "needs_review": NeedsReviewError,
    }[outcome]
    raise error(message, app=session.app, step=title)


def read_dialog(session: Session, title: str) -> str:
    """Copy the active pop-up's message, then dismiss it and wait until it has gone."""
    text = session.copy(session.settings.dialog_copy) or ""
    session.press(session.settings.dialog_dismiss)
    session.wait_for(lambda t: t is not None and t != title, f"pop-up {title!r} to close")
    return text.strip()
