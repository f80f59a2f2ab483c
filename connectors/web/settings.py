"""The keys of a ``kind: web`` app in ``config/apps.yaml``.

Selectors here are CSS selectors: the connector evaluates them in the page in one call.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from borough.drift.screens import ScreenDecl


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)


class LoginSettings(_Strict):
    """How to sign in; the login form appearing anywhere later means the session ended."""

    path: str = Field(default="/login", description="URL path of the sign-in page")
    username: str = Field(default="input[name=username]", description="user name field")
    password: str = Field(default="input[type=password]", description="password field")
    submit: str = Field(default="[type=submit]", description="the sign-in button")
    form: str = Field(
        default="form:has(input[type=password])",
        description="present only on the sign-in page (in any frame or window)",
    )
    error: str | None = Field(default=None, description="where the app says why sign-in failed")


class WebSettings(_Strict):
    """One legacy web application driven through Chromium."""

    base_url: str = Field(description="e.g. http://casework.council.local:8080")
    credential: str = Field(description='secret holding "username:password"')
    start_path: str = Field(default="/", description="where a signed-in session starts")
    login: LoginSettings = LoginSettings()
    ready_selector: str | None = Field(
        default=None, description="every complete page has it; missing = half-rendered page"
    )
    validation_selector: str | None = Field(
        default=None, description="messages that reject a submitted form (a business rule)"
    )
    transient_texts: list[str] = Field(
        default_factory=list,
        description="page text meaning 'try again later', e.g. 'Record locked'",
    )
    mask: list[str] = Field(
        default_factory=lambda: ["input[type=password]"],
        description="elements blacked out in evidence screenshots (all frames)",
    )
    timeout_seconds: float = Field(default=15.0, gt=0, description="per browser action")
    navigation_timeout_seconds: float = Field(default=30.0, gt=0)
    attempts: int = Field(default=3, ge=1, le=10, description="tries of a repeatable step")
    backoff_seconds: float = Field(default=0.5, ge=0)
    max_relogins: int = Field(default=3, ge=0, description="sign-ins per step before giving up")
    trace: Literal["off", "actions", "full"] = Field(
        default="actions",
        description="per-item Playwright trace: actions + network, or also DOM snapshots",
    )
    headless: bool = True
    executable: str | None = Field(default=None, description="browser binary; default: chromium")
    viewport_width: int = Field(default=1280, ge=320)
    viewport_height: int = Field(default=900, ge=240)
    screens: dict[str, ScreenDecl] = Field(
        default_factory=dict,
        description="the screens bots use: reach + element -> locator (CSS, role=, label=)",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _reaches(self) -> WebSettings:
        from connectors.web.screens import parse_reach

        for name, screen in self.screens.items():
            if screen.visited:
                try:
                    parse_reach(screen.reach)
                except ValueError as exc:
                    raise ValueError(f"screen {name!r}: {exc}") from None
        return self

    def url(self, path: str) -> str:
        """``path`` joined to ``base_url``, keeping the base's own path: with ``base_url:
        https://apps.council.local/caseflow``, ``/login`` and ``login`` are both
        ``https://apps.council.local/caseflow/login``. A full URL is used as it is."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"
