"""Recipe steps over a ``kind: desktop`` app (:class:`connectors.desktop.DesktopConnector`).

Keyboard first, as the connector is: ``keys`` presses chords, ``fill`` types a field
reached by its access key (or an image beside it) and reads it back, ``verify: {filled:
true}`` reads back every field typed so far, ``save`` presses the save chord once the
intent is recorded and takes the reference from the app's pop-up.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from borough.errors import NeedsReviewError, TransientError
from borough.recipes import conditions, rows, templates
from borough.recipes.steps import Step

if TYPE_CHECKING:
    from borough.context import RunContext
    from connectors.desktop import DesktopConnector, Field


class DesktopSteps:
    """Runs steps against one desktop app, remembering the fields typed for this item."""

    def __init__(
        self, app: DesktopConnector, ctx: RunContext, values: dict[str, Any], images: list[Path]
    ) -> None:
        self.app = app
        self.ctx = ctx
        self.values = values
        self.images = images
        self.filled: list[Field] = []

    def do(self, step: Step) -> None:
        getattr(self, f"_{step.name}")(step)

    def image(self, name: str) -> str:
        """An image path: absolute, or relative to the config folder, then the home."""
        path = Path(name)
        if path.is_absolute():
            return str(path)
        for folder in self.images:
            if (folder / path).exists():
                return str(folder / path)
        raise TransientError(f"image {name!r} not found under {', '.join(map(str, self.images))}")

    def focus(self, step: Step) -> Any:
        from connectors.desktop import Anchor

        if step.get("image") is not None:
            return Anchor(self.image(str(step.get("image"))), dx=step.get("dx"), dy=step.get("dy"))
        return step.get("key")

    def field(self, step: Step, value: str) -> Field:
        from connectors.desktop import Field

        return Field(str(step.get("field")), value, self.focus(step))

    def _if(self, step: Step) -> None:
        conditions.take(step, self.values, self.ctx, self.do)

    def _keys(self, step: Step) -> None:
        chords = step.get("keys")
        self.app.press(*(chords if isinstance(chords, list) else [chords]))

    def _home(self, step: Step) -> None:
        self.app.home()

    def _paste(self, step: Step) -> None:
        self.app.paste(templates.render(str(step.get("value")), self.values))

    def _click(self, step: Step) -> None:
        self.app.click(self.focus(step))

    def _wait_for(self, step: Step) -> None:
        screen = step.get("screen")
        title = (
            self.app.title_of(str(screen))
            if screen
            else templates.render(str(step.get("title")), self.values)
        )
        timeout = step.get("timeout")
        self.app.wait_window(title, float(timeout) if timeout else None)

    def _fill(self, step: Step) -> None:
        secret = step.get("secret")
        value = (
            self.ctx.secret(str(secret))
            if secret
            else templates.render(str(step.get("value", "")), self.values)
        )
        field = self.field(step, value)
        self.app.enter([field])
        if not secret:  # a secret is never read back into the clipboard again
            self.filled.append(field)

    def _read(self, step: Step) -> None:
        self.values[str(step.get("into"))] = self.app.read(self.focus(step)).strip()

    def _verify(self, step: Step) -> None:
        if step.get("filled"):
            self.app.verify(self.filled)
            self.ctx.step("form.verified", target=self.app.name, fields=len(self.filled))
            return
        wanted = templates.render(str(step.get("equals")), self.values)
        self.app.verify([self.field(step, wanted)])

    def _save(self, step: Step) -> None:
        self.ctx.intent("save", target=self.app.name)
        chords = step.get("keys")
        self.app.save(*(chords if isinstance(chords, list) else [chords]))
        if not step.get("dialog", True):
            return
        dialog = self.app.await_dialog()
        self.app.wait_window(self.app.settings.main_window)  # the form closes after the pop-up
        pattern = step.get("pattern")
        if pattern is None:
            self.values[str(step.get("into", "reference"))] = dialog.text.strip()
            return
        found = re.search(str(pattern), dialog.text)
        if found is None:
            raise NeedsReviewError(
                f"the app said {dialog.title!r} but showed no reference like {pattern!r}",
                app=self.app.name,
            )
        self.values[str(step.get("into", "reference"))] = found.group(0)

    def _copy(self, step: Step) -> None:
        chords = step.get("keys")
        text = self.app.copy(*(chords if isinstance(chords, list) else [chords]))
        if text is None:
            raise TransientError("nothing was copied", app=self.app.name, step="copy")
        self.values[str(step.get("into"))] = text

    def _find_row(self, step: Step) -> None:
        found = rows.grid_rows(str(self.values.get(str(step.get("from"))) or ""))
        self.values[str(step.get("into"))] = rows.pick(
            found, step.options, self.values, self.app.name
        )
