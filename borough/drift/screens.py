"""How an app declares the screens its bots use (``screens:`` of an app in ``config/apps.yaml``).

A screen has a name (as bots call it), a way to reach it without touching any item, and its
elements: element name (as bots call it) -> locator. What a locator and a reach mean belongs
to the app's connector kind (web: CSS or ``role=``/``label=`` selectors and a URL path;
desktop: ``title:``/``image:``/``text:`` anchors and the keys that open the screen).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: A reach starting with this word is not visited by the check (e.g. "after a save").
AFTER = "after "


class ScreenDecl(BaseModel):
    """One screen of an app, as the bots driving it rely on it."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    reach: str = Field(
        description="how the check gets there without touching an item (web: '/path', "
        "'/path in frame NAME', '/path in window'; desktop: keys from the main window, '' for "
        "the main window itself); 'after ...' for a screen that shows only after real work, "
        "which the check does not visit"
    )
    elements: dict[str, str] = Field(
        min_length=1, description="element name (as bots call it) -> locator"
    )

    @field_validator("elements")
    @classmethod
    def _locators(cls, value: dict[str, str]) -> dict[str, str]:
        for name, locator in value.items():
            if not locator.strip():
                raise ValueError(f"element {name!r} has an empty locator")
        return value

    @property
    def visited(self) -> bool:
        """False for screens that show only after real work (``reach: after ...``)."""
        return not self.reach.strip().lower().startswith(AFTER)


Screens = dict[str, ScreenDecl]


def locator_of(screens: Screens, app: str, screen: str, element: str) -> str:
    """The declared locator of ``element`` on ``screen``; a clear error if undeclared."""
    from borough.errors import ConfigError

    found = screens.get(screen)
    if found is None:
        known = ", ".join(sorted(screens)) or "(none)"
        raise ConfigError(
            f"app {app!r} declares no screen {screen!r} under screens: in config/apps.yaml "
            f"(declared: {known})"
        )
    if element not in found.elements:
        known = ", ".join(sorted(found.elements))
        raise ConfigError(
            f"screen {screen!r} of app {app!r} declares no element {element!r} in "
            f"config/apps.yaml (declared: {known})"
        )
    return found.elements[element]
