"""A recipe as a :class:`~borough.bot.Bot`: the runtime runs it like any Python bot.

``recipe_bot(config, name)`` builds the class the registry hands the runner: ledger,
exactly-once, audit, evidence, retries, scheduling and seats are the runtime's, not the
recipe's. The recipe gives ``items()`` (its input read against its columns),
``process()`` (its steps; the intent is recorded just before ``save``) and
``find_existing()`` (its ``find_existing`` steps).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from borough.bot import Bot, Item
from borough.config.loader import Config
from borough.config.models import BotConfig
from borough.errors import ConfigError, TransientError
from borough.recipes import conditions, templates
from borough.recipes.parse import Recipe, load_recipe
from borough.recipes.steps import Step

if TYPE_CHECKING:
    from borough.context import RunContext


class RecipeBot(Bot[BaseModel]):
    """The bot behind every ``kind: recipe`` config (one subclass per recipe)."""

    recipe: ClassVar[Recipe]
    declares_intent = True  # the intent is recorded just before the save step
    kind: ClassVar[str] = "recipe"

    def items(self, ctx: RunContext) -> Iterator[Item[BaseModel]]:
        from connectors.files import read_table

        spec = self.recipe.spec
        only = spec.only or {}
        key = self.recipe.key_template
        for row in read_table(self._input(ctx), self.recipe.row):
            value = row.value
            if value is not None and any(
                str(getattr(value, c)) not in allowed for c, allowed in only.items()
            ):
                continue
            yield row.to_item(
                key=lambda value: templates.render(key, _fields(value)),
                key_column=spec.key_column or _column_of(self.recipe, spec.key),
            )

    def _input(self, ctx: RunContext) -> Any:
        spec = self.recipe.spec
        if spec.input in ctx.inputs:
            return ctx.inputs[spec.input]
        if not self.recipe.download_steps:
            raise ConfigError(
                f"recipe {self.name!r} needs input {spec.input!r}: --input {spec.input}=FILE"
            )
        values: dict[str, Any] = {}
        self._run(ctx, self.recipe.download_steps, values, "download", repeatable=True)
        sealed = next(v for k, v in values.items() if k == _download_var(self.recipe))
        for app in {s.app for s in self.recipe.download_steps}:
            ctx.close_app(app)  # not needed while the items are worked
        ctx.step("input.downloaded", file=sealed.relative, sha256=sealed.sha256)
        return sealed

    def setup(self, ctx: RunContext) -> None:
        """Open every app now, so a refused sign-in or a missing display stops the run once."""
        for name in self.recipe.apps:
            connector = ctx.app(name)
            if getattr(connector, "kind", None) == "web":
                connector.run("sign-in", lambda: None)  # type: ignore[attr-defined]
        for mask in self.recipe.spec.masks:
            from connectors.desktop import Mask

            app = ctx.app(mask.app)
            title = app.title_of(mask.screen)  # type: ignore[attr-defined]
            image = _images(ctx)
            path = next(
                (str(f / mask.image) for f in image if (f / mask.image).exists()), mask.image
            )
            left, top, width, height = mask.box
            box = (left, top, width, height)
            app.declare_sensitive(Mask(path, title, box))  # type: ignore[attr-defined]

    def process(self, ctx: RunContext, item: Item[BaseModel]) -> str:
        values = self._values(item)
        if self.recipe.spec.look_first:
            found = self._look(ctx, values)
            if found:
                ctx.step("already-in-app", reference=found)
                return found
        steps = self.recipe.steps
        cut = next(i for i, s in enumerate(steps) if s.name == "save")
        self._run(ctx, steps[:cut], values, "prepare", repeatable=True)
        self._run(ctx, steps[cut:], values, "save", repeatable=False)
        reference = templates.render(self.recipe.spec.result, values).strip()
        if not reference:
            raise TransientError("the save gave no reference (result: is empty)")
        return reference

    def plan(self, item: Item[BaseModel]) -> list[str]:
        """The steps this item would take (``run --dry-run``); personal values are shown as
        their data category, never in clear."""
        values = self._values(item)
        for name, category in self.recipe.personal.items():
            values[name] = f"<{category}>"
        lines = []
        if self.recipe.spec.look_first:
            for step in self.recipe.find_steps:
                lines += [f"(look first) {line}" for line in _described(step, values)]
            lines.append("(if found: DONE with that reference; otherwise)")
        for step in self.recipe.steps:
            if step.name == "save":
                lines.append(
                    "(record the intent to save: from here on, a doubt is settled by find_existing)"
                )
            lines += _described(step, values)
        return lines

    def find_existing(self, ctx: RunContext, item: Item[BaseModel]) -> str | None:
        return self._look(ctx, self._values(item))

    def _look(self, ctx: RunContext, values: dict[str, Any]) -> str | None:
        self._run(ctx, self.recipe.find_steps, values, "find_existing", repeatable=True)
        if any(values.get(str(s.sets)) is None for s in self.recipe.find_steps if s.sets):
            return None
        assert self.recipe.spec.find_existing is not None
        return templates.render(self.recipe.spec.find_existing.found, values).strip() or None

    def _values(self, item: Item[BaseModel]) -> dict[str, Any]:
        if item.data is None:
            raise TransientError("the item has no data")
        return {**_fields(item.data), "key": item.key}

    def _run(
        self,
        ctx: RunContext,
        steps: list[Step],
        values: dict[str, Any],
        label: str,
        *,
        repeatable: bool,
    ) -> None:
        """Steps in order, consecutive steps of one web app as one block (see web_steps)."""
        from borough.recipes.desktop_steps import DesktopSteps
        from borough.recipes.web_steps import WebSteps

        desktops: dict[str, DesktopSteps] = {}
        index = 0
        while index < len(steps):
            step = steps[index]
            connector: Any = ctx.app(step.app)
            if step.kind == "web":
                end = index
                while end < len(steps) and steps[end].app == step.app:
                    end += 1
                WebSteps(connector, ctx, values).block(
                    label, steps[index:end], repeatable=repeatable
                )
                index = end
                continue
            runner = desktops.get(step.app)
            if runner is None:
                runner = desktops[step.app] = DesktopSteps(connector, ctx, values, _images(ctx))
            runner.do(step)
            index += 1


def _described(step: Step, values: dict[str, Any], indent: str = "") -> list[str]:
    """A step for ``run --dry-run``; an ``if`` with both its branches, indented."""
    if step.name != "if":
        return [indent + step.describe(values)]
    lines = [f"{indent}{conditions.summary(step, values)} [{step.app}]"]
    for branch in conditions.BRANCHES:
        if step.branches.get(branch):
            lines.append(f"{indent}  {branch}:")
            for child in step.branches[branch]:
                lines += _described(child, values, indent + "    ")
    return lines


def _images(ctx: RunContext) -> list[Path]:
    """Where relative image paths are looked for: the config folder, the home, the working
    folder, then the Python path (the images of an installed package, e.g. the examples')."""
    paths = ctx.runtime.paths
    return [paths.config, paths.home, Path.cwd(), *(Path(p) for p in sys.path if p)]


def _fields(value: BaseModel) -> dict[str, Any]:
    return {name: getattr(value, name) for name in type(value).model_fields}


def _column_of(recipe: Recipe, key: str) -> str | None:
    column = recipe.spec.columns.get(key)
    return column.column if column is not None else None


def _download_var(recipe: Recipe) -> str:
    last = [s for s in recipe.download_steps if s.name == "download"][-1]
    return str(last.get("into", "download"))


def recipe_bot(config: Config, bot_config: BotConfig) -> type[RecipeBot]:
    """The bot class of a ``kind: recipe`` config (checked; a ConfigError names the line)."""
    recipe = load_recipe(config, bot_config)
    attrs: dict[str, Any] = {
        "name": bot_config.bot,
        "version": recipe.spec.version,
        "description": bot_config.description,
        "schema": recipe.row,
        "personal": recipe.personal,
        "recipe": recipe,
        "__module__": __name__,
    }
    return type(f"Recipe_{bot_config.bot.replace('-', '_')}", (RecipeBot,), attrs)
