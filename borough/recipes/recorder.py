"""``borough record web APP``: watch a person use the app, write a draft recipe.

The app's connector signs in (so the recording starts where a run starts), an init script
reports every click and typed value through a Playwright binding, and navigations are
noted to say which click loads which frame or opens which window. The draft names
elements as the app declares them in apps.yaml where it can, turns each typed value into
a row placeholder (``{{ claim_reference }}``) with a suggested column, and never writes a
typed value down. The author then marks the step that saves and writes find_existing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from borough.errors import ConfigError

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Page

    from borough.runtime import Runtime

SCRIPT = Path(__file__).with_name("record.js")


@dataclass
class Action:
    """One thing the person did: a click, a typed value or a choice, and where."""

    kind: str  #: click, fill, select
    selector: str
    label: str
    frame: str | None = None
    window: str | None = None
    secret: bool = False
    loads: str | bool | None = None
    opens: str | None = None


@dataclass
class Recording:
    """What was recorded, turned into a draft recipe by :meth:`draft`."""

    app: str
    screens: dict[str, dict[str, str]]  #: screen -> element -> selector (apps.yaml)
    actions: list[Action] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def on_action(self, where: tuple[str | None, str | None], event: dict[str, Any]) -> None:
        frame, window = where
        action = Action(
            kind=str(event.get("kind")),
            selector=str(event.get("selector")),
            label=str(event.get("label") or ""),
            frame=frame,
            window=window,
            secret=bool(event.get("secret")),
        )
        last = self.actions[-1] if self.actions else None
        if action.kind != "click" and last is not None and _same_field(last, action):
            self.actions[-1] = action  # typed again into the same field: the last value counts
            return
        self.actions.append(action)

    def on_navigation(self, frame: str | None, window: str | None) -> None:
        """A frame loaded a page: the last click (if nothing came after it) loaded it."""
        last = self.actions[-1] if self.actions else None
        if last is None or last.kind != "click" or last.loads is not None or last.opens:
            return
        if window != last.window:
            return
        last.loads = True if frame == last.frame else (frame or True)

    def on_window(self, name: str) -> None:
        last = self.actions[-1] if self.actions else None
        if last is not None and last.kind == "click" and last.opens is None:
            last.opens = name

    # -- the draft -----------------------------------------------------------------------
    def element_of(self, selector: str) -> str | None:
        for screen, elements in self.screens.items():
            for name, declared in elements.items():
                if declared == selector:
                    return f"{screen}/{name}"
        return None

    def columns(self) -> dict[str, str]:
        """A column per typed value or choice: ``{placeholder name: header}``."""
        found: dict[str, str] = {}
        for action in self.actions:
            if action.kind in ("fill", "select") and not action.secret:
                found.setdefault(
                    _name(action.label or action.selector), action.label or action.selector
                )
        return found

    def draft(self, bot: str) -> str:
        """The draft recipe as YAML text (one step a line, so marking a step is one edit)."""
        columns = self.columns()
        key = next(iter(columns), "reference")
        lines = [
            f"# Draft recorded by `borough record web {self.app}` at "
            f"{self.started.strftime('%Y-%m-%d %H:%M')} UTC. Before its first run:",
            "#  1. mark the step that saves: change its `click:` to `save:` and add",
            "#     `reference: SELECTOR` (where the app shows its own reference afterwards);",
            "#  2. add `find_existing:` steps that look the item up (see docs/recipes.md);",
            "#  3. check each column's header and type, the key, and the input's file.",
            "# `borough config check` says what is still missing, with its line.",
            f"bot: {bot}",
            "kind: recipe",
            f"description: recorded from {self.app}",
            f"inputs: {{csv: input/{bot}.csv}}",
            f"apps: [{self.app}]",
            "recipe:",
            "  input: csv",
            "  columns:",
            *(f"    {name}: {{column: {json.dumps(header)}}}" for name, header in columns.items()),
            f"  key: {key}",
            f"  app: {self.app}",
            "  steps:",
            *(f"    - {self.step(action, columns)}" for action in self.actions),
        ]
        return "\n".join(lines) + "\n"

    def step(self, action: Action, columns: dict[str, str]) -> str:
        element = self.element_of(action.selector)
        parts = [f"element: {element}" if element else f"selector: {json.dumps(action.selector)}"]
        if action.window:
            parts.append(f"window: {action.window}")
        elif action.frame:
            parts.append(f"frame: {action.frame}")
        if action.kind == "click":
            if action.opens:
                parts.append(f"opens: {action.opens}")
            elif action.loads is not None:
                parts.append(
                    f"loads: {str(action.loads).lower() if action.loads is True else action.loads}"
                )
        elif action.secret:
            parts.append("secret: NAME-OF-A-SECRET")
        else:
            parts.append(
                "value: " + json.dumps("{{ " + _name(action.label or action.selector) + " }}")
            )
        return f"{action.kind}: {{{', '.join(parts)}}}"


def _same_field(one: Action, other: Action) -> bool:
    return (one.kind, one.selector, one.frame, one.window) == (
        other.kind,
        other.selector,
        other.frame,
        other.window,
    )


def _name(label: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"field_{name}" if name else "field"
    return name[:40]


class Recorder:
    """Attach to a signed-in page: every page and popup of its context is recorded."""

    def __init__(self, page: Page, recording: Recording) -> None:
        self.page = page
        self.recording = recording
        self.windows: dict[Page, str] = {}
        context = page.context
        context.expose_binding("boroughRecord", self._binding)
        context.add_init_script(path=str(SCRIPT))
        page.on("framenavigated", lambda frame: self._navigated(page, frame))
        context.on("page", self._popup)
        for frame in page.frames:  # the page already shown: inject now as well
            frame.evaluate(SCRIPT.read_text(encoding="utf-8"))

    def _where(self, page: Page, frame: Frame | None) -> tuple[str | None, str | None]:
        window = self.windows.get(page)
        if frame is None or frame == page.main_frame:
            return None, window
        return frame.name or None, window

    def _binding(self, source: dict[str, Any], event: dict[str, Any]) -> None:
        self.recording.on_action(self._where(source["page"], source["frame"]), event)

    def _navigated(self, page: Page, frame: Frame) -> None:
        self.recording.on_navigation(*self._where(page, frame))

    def _popup(self, page: Page) -> None:
        name = f"window{len(self.windows) + 1}"
        self.windows[page] = name
        self.recording.on_window(name)
        page.on("framenavigated", lambda frame: self._navigated(page, frame))


def declared_screens(runtime: Runtime, app: str) -> dict[str, dict[str, str]]:
    """``screen -> element -> selector`` as the app's ``screens:`` in apps.yaml declare."""
    raw = (runtime.config.app(app).model_extra or {}).get("screens") or {}
    return {screen: dict((decl or {}).get("elements") or {}) for screen, decl in raw.items()}


@contextmanager
def recording_session(
    runtime: Runtime, app: str, *, headless: bool = False
) -> Iterator[tuple[Page, Recording]]:
    """The app signed in by its connector (headed unless told), with a recorder attached."""
    from borough.context import RunContext

    if runtime.config.app(app).kind != "web":
        raise ConfigError(f"app {app!r} is not a kind: web app; the recorder records web apps")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    ctx = RunContext(
        runtime=runtime,
        run_id=f"record-{app}-{stamp}",
        bot_name="record",
        trail=runtime.trail.bind(actor="recorder"),
        inputs={},
    )
    try:
        web: Any = ctx.app(app)
        web.settings = web.settings.model_copy(update={"headless": headless, "trace": "off"})
        page = web.open()
        recording = Recording(app, declared_screens(runtime, app))
        Recorder(page, recording)
        yield page, recording
    finally:
        ctx.close()
