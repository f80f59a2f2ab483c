"""The revenues client (the sandbox Tk app) as a desktop bot sees it: the keys that open each
screen, how each form field is reached, what its pop-ups say, and where personal data shows.

Kept apart from the bot so that another bot driving the same client reuses it. Everything
is keyboard first; only "Weekly amount", which has no tab stop or accelerator in the
client, is reached by clicking beside its label (a reference image). The form's window
title is declared with the app's screens in config/apps.yaml (``change form``), where the
drift check looks for it and an accepted fix changes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from borough.errors import NeedsReviewError, TransientError
from connectors.desktop import Anchor, DesktopConnector, Field, Mask

IMAGES = Path(__file__).resolve().parent / "images" / "revenues_client"
FORM = "change form"  #: the screen's name in apps.yaml (its title is declared there)
NEW_CHANGE, FIND, SAVE = "ctrl+n", "ctrl+f", "alt+s"
COPY_ROWS = "ctrl+c"
_REFERENCE = re.compile(r"\bREV-\d{6}\b")


def image(name: str) -> str:
    return str(IMAGES / name)


#: the empty box right of the "Weekly amount (£)" label (label crop at x-offset 0)
WEEKLY_AMOUNT = Anchor(image("weekly_amount_label.png"), dx=212, dy=9)
#: each label crop's top-left -> its entry box: 171 px right, 1 px up, 329 x 21 (+2 px margin)
_ENTRY_BOX = (169, -3, 333, 25)
_PERSONAL = ("surname_label.png", "forenames_label.png", "nino_label.png", "postcode_label.png")


def masks(form_title: str) -> tuple[Mask, ...]:
    """The form's personal fields, blacked out in failure screenshots."""
    return tuple(Mask(image(name), form_title, _ENTRY_BOX) for name in _PERSONAL)


@dataclass(frozen=True)
class ChangeValues:
    """The text to type into each field of the New CTR change form, as the client shows it."""

    case_ref: str
    claim_ref: str
    account: str
    surname: str
    forenames: str
    nino: str
    change_type: str
    effective_date: str
    postcode: str
    weekly_amount: str

    def fields(self) -> list[Field]:
        return [
            Field("Case reference", self.case_ref, "alt+c"),
            Field("Claim reference", self.claim_ref, "alt+l"),
            Field("Council Tax account", self.account, "alt+t"),
            Field("Surname", self.surname, "alt+u"),
            Field("Forenames", self.forenames, "alt+f"),
            Field("NI number", self.nino, "alt+n"),
            Field("Change type", self.change_type, "alt+h"),
            Field("Effective date", self.effective_date, "alt+e"),
            Field("Postcode", self.postcode, "alt+p"),
            Field("Weekly amount", self.weekly_amount, WEEKLY_AMOUNT),
        ]


def open_form(app: DesktopConnector) -> None:
    app.home()
    app.press(NEW_CHANGE)
    app.wait_window(app.title_of(FORM))


def save(app: DesktopConnector) -> str:
    """Save the open form; the client's own reference from its "Change saved" pop-up.

    Validation pop-ups and "Record locked" are raised by the connector as configured in
    apps.yaml (BusinessRuleError, TransientError).
    """
    app.save(SAVE)
    dialog = app.await_dialog()
    app.wait_window(app.settings.main_window)  # the form closes after the pop-up
    found = _REFERENCE.search(dialog.text)
    if found is None:
        raise NeedsReviewError(
            f"the client said {dialog.title!r} but showed no REV- reference", app=app.name
        )
    return found.group(0)


def find_case(app: DesktopConnector, case_ref: str) -> str | None:
    """The reference of the change recorded for ``case_ref``, or None if there is none."""
    app.home()
    app.press(FIND)
    app.enter([Field("Find case reference", case_ref, None)])
    app.press("enter")
    grid = app.copy(COPY_ROWS)
    if grid is None:
        raise TransientError("the record grid could not be read", app=app.name, step="find")
    matches = [row["Reference"] for row in grid_rows(grid) if row.get("Case reference") == case_ref]
    if len(matches) > 1:
        raise NeedsReviewError(
            f"the client holds {len(matches)} changes for one case reference: {', '.join(matches)}",
            app=app.name,
        )
    return matches[0] if matches else None


def grid_rows(text: str) -> list[dict[str, str]]:
    """The grid's copied text (a header line, then tab-separated rows) as dicts."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines:
        return []
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:]]
