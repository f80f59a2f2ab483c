"""Signing in to a legacy web app with the credential secret (``username:password``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from borough.errors import AppRefusedError, ConnectorError, TransientError
from connectors.web import checks
from connectors.web.settings import WebSettings

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Page


class SignInRefused(AppRefusedError):
    """The app refused the credential: trying again would only lock the account."""


def credential(
    app: str, settings: WebSettings, secret: Callable[[str], str], keep_out: Callable[..., None]
) -> tuple[str, str]:
    """(user, password) from the secret; the password alone is a secret too (the store
    registers only the whole value)."""
    name = settings.credential
    value = secret(name)
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConnectorError(
            f"secret {name!r} of app {app!r} must look like 'username:password'; "
            f"set it again with `borough secrets set {name}`"
        )
    keep_out(password, secret=True)
    return user, password


def sign_in(page: Page, app: str, settings: WebSettings, user: str, password: str) -> None:
    """Fill the sign-in form in the main window; raise unless the app let us in."""
    login = settings.login
    response = page.goto(settings.url(login.path), wait_until="load")
    if response is not None and response.status >= 500:
        raise TransientError(f"sign-in page answered HTTP {response.status}", app=app)
    page.fill(login.username, user)
    page.fill(login.password, password)
    with page.expect_navigation(wait_until="load") as navigation:
        page.click(login.submit)
    status = navigation.value.status if navigation.value else None
    if status is not None and status >= 500:
        raise TransientError(f"sign-in answered HTTP {status}", app=app, step="sign-in")
    if checks.inspect(page, settings).login:
        reason = ""
        if login.error and page.locator(login.error).count():
            reason = ": " + page.locator(login.error).first.inner_text().strip()
        raise SignInRefused(
            f"app {app!r} refused to sign in with secret {settings.credential!r}{reason}; "
            f"check it with `borough secrets set {settings.credential}`"
        )
