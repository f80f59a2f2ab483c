"""Recipe steps over a ``kind: web`` app (:class:`connectors.web.WebSession`).

Steps before ``save`` only prepare (the recipe says ``save`` is the one change), so they
run as one repeatable block: a fault or an ended session repeats the block from its
first step, signed in again. ``save`` and what follows run once; any doubt after the
intent is settled by ``find_existing``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from borough.errors import TransientError
from borough.recipes import conditions, rows, templates
from borough.recipes.steps import Step

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Locator, Page

    from borough.context import RunContext
    from connectors.web import WebSession

_INPUTS = ("input", "select", "textarea")


class WebSteps:
    """Runs steps against one web session, keeping the windows the recipe opened."""

    def __init__(self, web: WebSession, ctx: RunContext, values: dict[str, Any]) -> None:
        self.web = web
        self.ctx = ctx
        self.values = values

    def block(self, label: str, steps: Sequence[Step], *, repeatable: bool) -> None:
        def go() -> None:
            for step in steps:
                self.do(step)

        self.web.run(label, go, repeatable=repeatable)

    # -- where a step acts ---------------------------------------------------------------
    def where(self, step: Step) -> Page | Frame:
        window = step.get("window")
        if window is not None:
            return self.web.window(
                str(window), lambda: _closed(str(window), self.web.name), step=step.name
            )
        frame = step.get("frame")
        return self.web.frame(str(frame)) if frame is not None else self.web.page

    def locator(self, step: Step, where: Page | Frame, key: str = "selector") -> Locator:
        element = step.get("element")
        if element is not None:
            screen, _, name = str(element).partition("/")
            return self.web.locator(where, screen.strip(), name.strip()).first
        return where.locator(str(step.get(key))).first

    def selector(self, text: str) -> str:
        """A declared element (``SCREEN/ELEMENT``) as its selector; any other text as is."""
        screen, sep, element = text.partition("/")
        if sep and screen.strip() in self.web.settings.screens:
            return self.web.selector(screen.strip(), element.strip())
        return text

    def text(self, step: Step) -> str:
        return templates.render(str(step.get("value", "")), self.values)

    # -- the steps -------------------------------------------------------------------------
    def do(self, step: Step) -> None:
        getattr(self, f"_{step.name}")(step)

    def _if(self, step: Step) -> None:
        conditions.take(step, self.values, self.ctx, self.do, self._shows)

    def _shows(self, step: Step) -> bool:
        """``if: {shows: ...}``: visible now (no waiting: the page has loaded)."""
        target = self.selector(str(step.get("shows")))
        return bool(self.where(step).locator(target).first.is_visible())

    def _goto(self, step: Step) -> None:
        frame = step.get("frame")
        where = self.web.frame(str(frame)) if frame is not None else None
        self.web.goto(templates.render(str(step.get("path")), self.values), where, step="goto")

    def _click(self, step: Step) -> None:
        where = self.where(step)
        target = self.locator(step, where)
        opens, loads = step.get("opens"), step.get("loads")
        if opens is not None:
            self.web.window(str(opens), target.click, step="click")
        elif loads is not None:
            loaded = where if loads is True else self.web.frame(str(loads))
            self.web.navigate(loaded, target.click, step="click")
        else:
            target.click()

    def _fill(self, step: Step) -> None:
        target = self.locator(step, self.where(step))
        secret = step.get("secret")
        if secret is not None:
            self.web.fill(target, self.ctx.secret(str(secret)), sensitive=True)
            return
        self.web.fill(target, self.text(step), sensitive=bool(step.get("personal", True)))

    def _select(self, step: Step) -> None:
        self.locator(step, self.where(step)).select_option(self.text(step))

    def _wait_for(self, step: Step) -> None:
        timeout = step.get("timeout")
        self.locator(step, self.where(step)).wait_for(
            state="visible", timeout=float(timeout) * 1000 if timeout else None
        )

    def _read(self, step: Step) -> None:
        self.values[str(step.get("into"))] = _value_of(self.locator(step, self.where(step)))

    def _verify(self, step: Step) -> None:
        got = _value_of(self.locator(step, self.where(step)))
        wanted = templates.render(str(step.get("equals")), self.values)
        if got != wanted:
            raise TransientError(
                "a field read back differently from what was typed",
                app=self.web.name,
                step="verify",
            )

    def _save(self, step: Step) -> None:
        where = self.where(step)
        target = self.locator(step, where)
        self.ctx.intent("save", target=self.web.name)
        self.web.navigate(where, target.click, step="save", validation=True)
        confirm = step.get("confirm")
        if confirm is not None and where.locator(self.selector(str(confirm))).count() == 0:
            raise TransientError("the app did not confirm the save", app=self.web.name, step="save")
        into = str(step.get("into", "reference"))
        reference = step.get("reference")
        if reference is not None:
            text = where.locator(self.selector(str(reference))).first.inner_text().strip()
            pattern = step.get("pattern")
            if pattern is not None and not re.fullmatch(str(pattern), text):
                raise TransientError(
                    "no reference on the saved page", app=self.web.name, step="save"
                )
            self.values[into] = text

    def _find_row(self, step: Step) -> None:
        source = step.get("from")
        if source is not None:
            found = rows.grid_rows(str(self.values.get(str(source)) or ""))
        else:
            where = self.where(step)
            selector = self.selector(str(step.get("element") or step.get("table")))
            next_page = step.get("next_page")
            more = self.selector(str(next_page)) if next_page is not None else None
            frame = self.web.table(where, selector, next_page=more, step="find_row")
            found = [
                {str(k): v for k, v in record.items()}
                for record in frame.fillna("").to_dict("records")
            ]
        self.values[str(step.get("into"))] = rows.pick(
            found, step.options, self.values, self.web.name
        )

    def _download(self, step: Step) -> None:
        where = self.where(step)
        target = self.locator(step, where)
        sealed = self.web.download(where, target.click, self.ctx.downloads, step="download")
        self.values[str(step.get("into", "download"))] = sealed


def _value_of(target: Locator) -> str:
    tag = str(target.evaluate("e => e.tagName")).lower()
    value = target.input_value() if tag in _INPUTS else target.inner_text()
    return value.strip()


def _closed(name: str, app: str) -> None:
    raise TransientError(
        f"window {name!r} is not open (a click with opens: {name} opens it)", app=app
    )
