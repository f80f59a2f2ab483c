"""Signing in to a desktop app, without ever guessing at a password.

A real app locks an account after a few refused passwords, so a refused sign-in is tried
again at most once, and only when the sign-in dialog shows that what was typed was wrong
(the user name read back by OCR differs). In image mode keys typed before the remote
dialog has the focus are lost, so the user name is read back before the password is typed
(when apps.yaml declares a ``User name`` field under ``pixels.fields``) and typed again
once if it differs. A sign-in that still fails raises SignInError, which stops the run
instead of failing every item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger

from borough.errors import ConnectorError, NeedsReviewError, SignInError
from connectors.desktop import forms

if TYPE_CHECKING:
    from connectors.desktop.connector import DesktopConnector
    from connectors.desktop.session import Session

#: the field under pixels.fields that shows the typed user name
USER_FIELD = "User name"


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
        _enter_user(app.name, session, s.username)
        session.press(s.login_next)
        session.fill_secret(password)
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


def _enter_user(name: str, session: Session, username: str) -> None:
    """Type the user name; read it back when the app declares where it shows, typing it
    once more if the first keys were lost."""
    if not _declared(session):
        if session.fill_field(None, username) != username:
            raise SignInError(f"app {name!r}: the user name did not go into the sign-in dialog")
        return
    for _ in range(2):
        try:
            if session.fill_field(None, username, USER_FIELD) == username:
                return
        except NeedsReviewError:
            pass  # unsure: typed again, then refused
    raise SignInError(
        f"app {name!r}: the user name typed into the sign-in dialog did not read back as "
        f"typed (twice); nothing was submitted"
    )


def _user_typed_wrong(session: Session, login_window: str, username: str) -> bool:
    """Back at the sign-in dialog after a refusal: does its user name read back wrong?"""
    if not _declared(session) or session.active_title() != login_window:
        return False
    try:
        return session.read_field(None, username, USER_FIELD) != username
    except NeedsReviewError:
        return False  # cannot tell: not a reason to risk the account
