"""Signing in to a desktop app, without ever guessing at a password.

A real app locks an account after a few refused passwords, so a refused sign-in is tried
again at most once, and only when the sign-in dialog shows that what was typed was wrong
(the user name read back by OCR differs). In image mode keys typed before the remote
dialog has the focus are lost, so the user name is read back before the password is typed
(when apps.yaml declares a ``User name`` field under ``pixels.fields``) and typed again
once if it differs. A sign-in that still fails raises SignInError, which stops the run
instead of failing every item.

The password cannot be read back (the dialog masks it), but in image mode, where a key can
be lost on its way through the viewer (a £ the remote side has to add to its own keyboard
map first), its mask characters are counted when apps.yaml declares where the ``Password``
box is: a password short of characters is typed once more, and never submitted short (a
refused password counts towards the account's lock-out).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from loguru import logger

from borough.errors import ConnectorError, NeedsReviewError, SignInError
from connectors.desktop import forms

if TYPE_CHECKING:
    from connectors.desktop.connector import DesktopConnector
    from connectors.desktop.session import Session

#: the field under pixels.fields that shows the typed user name
USER_FIELD = "User name"
#: the field under pixels.fields that shows the password's mask characters (counted only)
PASSWORD_FIELD = "Password"
#: how often the password box is looked at while its mask characters arrive
POLL = 0.05


def sign_in(app: DesktopConnector) -> None:
    """Fill the sign-in dialog: user name, next key, password (from the secret store)."""
    s, session = app.settings, app.session
    if not (s.username and s.credential and s.login_window):
        raise ConnectorError(
            f"app {app.name!r} asks to sign in, but apps.yaml gives no username and "
            "credential for it"
        )
    password = app.services.secret(s.credential)
    session.wait_window(s.login_window)
    for attempt in (1, 2):
        _enter_user(app.name, session, s.username, s.login_user)
        session.press(s.login_next)
        _enter_password(app.name, session, password)
        session.press(s.login_submit)
        title = session.wait_for(
            lambda t: t is not None and t != s.login_window, "the sign-in to finish"
        )
        if title == s.main_window:
            logger.bind(action="desktop.sign_in").info("signed in to {}", app.name)
            return
        text = forms.read_dialog(session, title) if title else ""
        if attempt == 1 and _user_typed_wrong(session, s.login_window, s.username):
            logger.bind(action="desktop.sign_in_retry").warning(
                "sign-in to {} refused with a wrongly typed user name; typing it once more",
                app.name,
            )
            continue
        raise SignInError(f"sign-in to app {app.name!r} failed: {text or title}")
    raise AssertionError("unreachable")  # pragma: no cover


def _declared(session: Session) -> bool:
    pixels = getattr(session, "pixels", None)
    return pixels is not None and USER_FIELD in pixels.fields


def _enter_user(name: str, session: Session, username: str, focus: str | None) -> None:
    """Type the user name (in the field ``focus`` keys reach, else at the dialog's focus);
    read it back when the app declares where it shows, typing it once more if the first
    keys were lost."""
    if not _declared(session):
        if session.fill_field(focus, username) != username:
            raise SignInError(f"app {name!r}: the user name did not go into the sign-in dialog")
        return
    for _ in range(2):
        try:
            if session.fill_field(focus, username, USER_FIELD) == username:
                return
        except NeedsReviewError:
            pass  # unsure: typed again, then refused
    raise SignInError(
        f"app {name!r}: the user name typed into the sign-in dialog did not read back as "
        f"typed (twice); nothing was submitted"
    )


def _enter_password(name: str, session: Session, password: str) -> None:
    """Type the password; where its mask characters can be counted, type it once more if
    some did not arrive, and refuse to submit it short. Never logs the password's length."""
    for attempt in (1, 2):
        session.fill_secret(password)
        shown = masked_length(session, len(password))
        if shown is None or shown == len(password):
            return
        if attempt == 1:
            logger.bind(action="desktop.sign_in_retype").warning(
                "the password box of {} shows fewer or more characters than were typed; "
                "typing the password once more",
                name,
            )
    raise SignInError(
        f"app {name!r}: the password box did not show as many characters as the password "
        "has (twice); nothing was submitted"
    )


def masked_length(session: Session, expected: int) -> int | None:
    """How many mask characters the declared ``Password`` box shows, once it shows
    ``expected`` or its read timeout passed; None where that cannot be told (not image
    mode, no box declared, or the box full so its text may have scrolled)."""
    pixels = getattr(session, "pixels", None)
    screens = getattr(session, "screens", None)
    if pixels is None or screens is None or PASSWORD_FIELD not in pixels.fields:
        return None
    region = pixels.fields[PASSWORD_FIELD]
    deadline = time.monotonic() + pixels.read_timeout_seconds
    shown: int | None = None
    while True:
        screens.look()
        box = screens.box(region)
        if box is not None:
            shown = mask_glyphs(session.screen.grab(box))
            if shown == expected:
                return shown
        if time.monotonic() >= deadline:
            return shown
        time.sleep(POLL)


def mask_glyphs(image: Any) -> int | None:
    """The glyphs (``*`` or ``●``) a masked box shows: runs of columns holding dark pixels,
    its border cropped away, less the caret (one column nearly the box's height). None if
    the glyphs reach the box's right edge (the text may have scrolled out of sight)."""
    import numpy as np

    dark = np.asarray(image.convert("L")).astype(int)[2:-2, 2:-2] < 128
    if dark.size == 0:
        return None
    inked = dark.any(axis=0)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inked.astype(int), [0]])))
    runs = list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
    glyphs = [
        (start, end)
        for start, end in runs
        if not (end - start == 1 and dark[:, start].sum() > dark.shape[0] * 0.7)
    ]
    if glyphs and glyphs[-1][1] >= dark.shape[1] - 2:
        return None
    return len(glyphs)


def _user_typed_wrong(session: Session, login_window: str, username: str) -> bool:
    """Back at the sign-in dialog after a refusal: does its user name read back wrong?"""
    if not _declared(session) or session.active_title() != login_window:
        return False
    try:
        return session.read_field(None, username, USER_FIELD) != username
    except NeedsReviewError:
        return False  # cannot tell: not a reason to risk the account
