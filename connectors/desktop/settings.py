"""The keys of a ``kind: desktop`` app in ``config/apps.yaml``, validated at load time."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from borough.drift.screens import ScreenDecl
from connectors.desktop.pixel_settings import PixelSettings

#: What a pop-up window, recognised by its title, means for the item being worked.
Outcome = Literal["ok", "business_rule", "transient", "needs_review"]
_SIZE = re.compile(r"^(\d{3,5})x(\d{3,5})$")


def chord_keys(chord: str) -> list[str]:
    """'ctrl+/' -> ['ctrl', '/']; 'ctrl++' -> ['ctrl', '+']; 'tab' -> ['tab']."""
    text = chord.strip()
    if not text:
        raise ValueError("empty key chord")
    if text == "+":
        return ["+"]
    keys = [*text[:-2].split("+"), "+"] if text.endswith("++") else text.split("+")
    if any(not key for key in keys):
        raise ValueError(f"malformed key chord {chord!r}: write keys joined by '+', e.g. ctrl+s")
    return [key.lower() if len(key) > 1 else key for key in keys]


class DesktopSettings(BaseModel):
    """One desktop application and how to drive it by keyboard."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    mode: Literal["windows", "pixels"] = Field(
        default="windows",
        description="windows: titles, clipboard; pixels: the app is seen only through a "
        "remote-desktop viewer (OCR and images, typed keys)",
    )
    pixels: PixelSettings | None = Field(default=None, description="image mode's screens")
    command: list[str] | None = Field(
        default=None,
        description="how to start the app; {python} and {home} are replaced; "
        "omit to only attach to a running app",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="environment variables for the app's command ({python} and {home} are "
        "replaced), added to the run's own; no secret here: the app signs in with credential",
    )
    main_window: str = Field(description="title of the app's main window (where work starts)")
    login_window: str | None = Field(default=None, description="title of its sign-in dialog")
    username: str | None = Field(default=None, description="user name typed at sign-in")
    credential: str | None = Field(
        default=None, description="secret holding the password (`borough secrets set NAME`)"
    )
    login_user: str | None = Field(
        default=None,
        description="keys that put the focus in the sign-in's user name field (e.g. alt+u): "
        "a dialog a killed bot left half-filled may have it in the password box; without "
        "them the user name is typed where the dialog puts the focus",
    )
    login_next: str = Field(default="tab", description="key from user name to password")
    login_submit: str = Field(default="enter", description="key that submits the sign-in")
    virtual_display: bool = Field(default=True, description="start Xvfb when DISPLAY is unset")
    screen_size: str = Field(default="1280x800", description="virtual screen, WIDTHxHEIGHT")
    window_manager: str | None = Field(
        default="openbox", description="started when the display has none (keeps focus sane)"
    )
    select_all: str = Field(default="ctrl+/", description="Tk's select-all; ctrl+a elsewhere")
    read_back: Literal["clipboard", "primary"] = Field(
        default="clipboard",
        description="how a field is read back: select-all + copy_keys through the clipboard, "
        "or (an app that offers no copy) select-all alone and the X PRIMARY selection",
    )
    copy_keys: str = "ctrl+c"
    paste_keys: str = "ctrl+v"
    clear_keys: str = Field(default="delete", description="deletes the selected text")
    dialogs: dict[str, Outcome] = Field(
        default_factory=dict, description="pop-up title -> what it means for the item"
    )
    dialog_copy: str = Field(default="ctrl+c", description="copies a pop-up's message")
    dialog_dismiss: str = Field(default="enter", description="closes a pop-up")
    home_keys: dict[str, list[str]] = Field(
        default_factory=dict,
        description="window title -> keys that leave it on the way back to the main window "
        "(default: escape)",
    )
    images: str | None = Field(
        default=None, description="folder of reference images (relative to BOROUGH_HOME)"
    )
    confidence: float = Field(default=0.9, gt=0, le=1, description="image match (needs OpenCV)")
    key_pause_seconds: float = Field(default=0.0, ge=0, le=2, description="pause after each key")
    start_timeout_seconds: float = Field(default=30.0, gt=0)
    window_timeout_seconds: float = Field(default=10.0, gt=0)
    clipboard_timeout_seconds: float = Field(default=2.0, gt=0)
    display_lock_timeout_seconds: float = Field(default=60.0, ge=0)
    screens: dict[str, ScreenDecl] = Field(
        default_factory=dict,
        description="the screens bots use: keys that open them from the main window + "
        "element -> locator (title:, image:, text:)",
    )

    @field_validator("screen_size")
    @classmethod
    def _size(cls, value: str) -> str:
        if not _SIZE.match(value):
            raise ValueError("screen_size must be WIDTHxHEIGHT, e.g. 1280x800")
        return value

    @field_validator(
        "select_all", "copy_keys", "paste_keys", "clear_keys", "dialog_copy", "dialog_dismiss"
    )
    @classmethod
    def _chord(cls, value: str) -> str:
        chord_keys(value)
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"env: {name!r} is not a variable name (letters, digits, _)")
            if any(word in name.upper() for word in ("PASSWORD", "PASSPHRASE", "SECRET")):
                raise ValueError(
                    f"env: {name!r} looks like a secret; secrets never go in config "
                    "(store it with `borough secrets set NAME`)"
                )
        return value

    @field_validator("home_keys")
    @classmethod
    def _chords(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for chords in value.values():
            for chord in chords:
                chord_keys(chord)
        return value

    @model_validator(mode="after")
    def _pixels(self) -> DesktopSettings:
        if self.mode == "pixels" and self.pixels is None:
            raise ValueError("mode: pixels needs a pixels: block (viewer_window, screens, fields)")
        return self

    @property
    def size(self) -> tuple[int, int]:
        width, height = self.screen_size.split("x")
        return int(width), int(height)
