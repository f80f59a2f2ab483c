"""Declared screens of a web app: turning locators into Playwright locators, reaching screens.

A locator in ``screens:`` of apps.yaml is a CSS selector (``#txtClaimRef``), a Playwright
role or text selector (``role=button[name="Save case"]``, ``text="Reports"``) or
``label=Claim number`` (the form control with that label, as ``get_by_label`` finds it).

A reach says where the screen is, without touching any item: ``/path`` (the main window),
``/path in frame NAME`` (a frame of the start page), ``/path in window`` (a window of its
own, as a pop-up the app opens).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Locator, Page

LABEL = "label="
_REACH = re.compile(r"^(?P<path>/\S*)(?:\s+in\s+(?:frame\s+(?P<frame>\S+)|(?P<window>window)))?$")


def find(where: Page | Frame, locator: str) -> Locator:
    """The Playwright locator for a declared locator (see the module docstring)."""
    if locator.startswith(LABEL):
        return where.get_by_label(_unquote(locator[len(LABEL) :]), exact=True)
    return where.locator(locator)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


@dataclass(frozen=True)
class Reach:
    """Where a declared screen shows: a path, in the main window, a frame or a window."""

    path: str
    frame: str | None = None
    window: bool = False


def parse_reach(text: str) -> Reach:
    """A reach as declared; ValueError (a config error) if it is none of the forms."""
    found = _REACH.match(text.strip())
    if found is None:
        raise ValueError(
            f"reach {text!r} is not '/path', '/path in frame NAME' or '/path in window' "
            "(or 'after ...' for a screen the check cannot visit)"
        )
    return Reach(found["path"], found["frame"], bool(found["window"]))


def css_ident(text: str) -> bool:
    """True if ``#text`` is a valid CSS id selector as written."""
    return re.fullmatch(r"-?[A-Za-z_][\w-]*", text) is not None


def role_locator(role: str, name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'role={role}[name="{escaped}"s]'
