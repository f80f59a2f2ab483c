"""Read a recipe bot's ``recipe:`` block into a checked :class:`Recipe`.

Every problem is collected with the line it is on (``file:line [field]: message``):
unknown steps and keys, steps an app of that kind cannot take, selectors that cannot
parse, elements the app does not declare, ``{{ names }}`` that are neither columns nor
variables set earlier, a ``save`` without ``find_existing``. The first is raised as a
:class:`~borough.errors.ConfigError` carrying the others, as config files do elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from borough.config.loader import Config, config_error_from
from borough.config.models import BotConfig
from borough.config.yaml_lines import LocatedYaml, load_yaml
from borough.errors import ConfigError
from borough.recipes import conditions, templates
from borough.recipes.columns import Column, row_model
from borough.recipes.steps import Step, check_selector_or_element, check_target, parse_step

Loc = tuple[str | int, ...]
ROOT: Loc = ("recipe",)
BUILT_IN = frozenset({"key"})  #: names every template may use besides the columns


class FindExisting(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: list[Any] = Field(min_length=1)
    found: str = Field(description="the target's reference when found, e.g. {{ case.Ref }}")


class MaskSpec(BaseModel):
    """An area of a desktop window blacked out in failure screenshots (personal fields)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app: str
    image: str = Field(description="a reference image near the area (e.g. the field's label)")
    screen: str = Field(description="the app's declared screen the area shows on")
    box: list[int] = Field(min_length=4, max_length=4, description="dx, dy, width, height")


class RecipeSpec(BaseModel):
    """``recipe:`` in ``config/bots/NAME.yaml`` (``kind: recipe``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    version: str = "1.0.0"
    input: str = Field(description="the name of one of the bot's inputs: (CSV or Excel)")
    download: list[Any] | None = Field(
        default=None, description="steps that download the input when the run is given none"
    )
    columns: dict[str, Column] = Field(min_length=1)
    key: str = Field(description="the item's key: a column name or a {{ }} template")
    key_column: str | None = None
    only: dict[str, list[str]] | None = Field(
        default=None, description="take only rows whose column has one of these values"
    )
    app: str | None = None
    look_first: bool = Field(default=False, description="run find_existing before the steps")
    steps: list[Any] = Field(min_length=1)
    find_existing: FindExisting | None = None
    result: str = Field(default="{{ reference }}", description="the target's reference")
    masks: list[MaskSpec] = Field(default_factory=list)


@dataclass
class Recipe:
    """A checked recipe, ready to run."""

    bot: str
    spec: RecipeSpec
    row: type[BaseModel]
    steps: list[Step]
    find_steps: list[Step] = field(default_factory=list)
    download_steps: list[Step] = field(default_factory=list)
    apps: list[str] = field(default_factory=list)

    @property
    def personal(self) -> dict[str, str]:
        return {n: c.personal for n, c in self.spec.columns.items() if c.personal}

    @property
    def key_template(self) -> str:
        key = self.spec.key
        return key if templates.is_template(key) else "{{ " + key + " }}"


def load_recipe(config: Config, bot_config: BotConfig) -> Recipe:
    """The recipe of ``bot_config`` (``kind: recipe``), or a ConfigError naming its line."""
    file = config.bot_config_file(bot_config.bot)
    doc = load_yaml(file)
    if bot_config.recipe is None:
        raise ConfigError(
            "a recipe bot needs a recipe: block (see docs/recipes.md)",
            file=file,
            line=doc.line_of(("kind",)),
            field="kind",
        )
    try:
        spec = RecipeSpec.model_validate(bot_config.recipe)
    except ValidationError as exc:
        raise config_error_from(exc, RecipeSpec, doc, ROOT) from None
    try:
        row = row_model(bot_config.bot, spec.columns)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            str(exc), file=file, line=doc.line_of((*ROOT, "columns")), field="recipe.columns"
        ) from None
    checker = _Checker(config, bot_config, spec)
    recipe = checker.check(row)
    if checker.problems:
        raise _error(checker.problems, doc)
    return recipe


class _Checker:
    """Parses the recipe's step lists in order, collecting every problem with its place."""

    def __init__(self, config: Config, bot_config: BotConfig, spec: RecipeSpec) -> None:
        self.config = config
        self.bot_config = bot_config
        self.spec = spec
        self.problems: list[tuple[str, Loc]] = []
        apps = [name for name in bot_config.apps if name in config.apps]
        self.app_kinds = {name: config.apps[name].kind for name in apps}
        self.screens = {
            name: (config.apps[name].model_extra or {}).get("screens") or {} for name in apps
        }

    def steps(self, raw: list[Any], loc: Loc, names: set[str]) -> list[Step]:
        parsed = []
        for index, item in enumerate(raw):
            if conditions.is_if(item):
                parsed.append(self.if_block(item, (*loc, index), names))
                continue
            step = parse_step(item, (*loc, index), self.spec.app, self.app_kinds)
            if not step.problems:
                check_target(step, self.screens.get(step.app, {}))
                _check_templates(step, names)
                _check_secret(step, self.bot_config, self.config)
            self.problems.extend(step.problems)
            if step.sets:
                names.add(str(step.sets))
            parsed.append(step)
        return parsed

    def if_block(self, raw: dict[str, Any], loc: Loc, names: set[str]) -> Step:
        """An ``if:`` and both its branches; what both branches set is known after it."""
        step = conditions.parse_if(raw, loc, self.spec.app, self.app_kinds)
        if not step.problems:
            self.check_test(step, names)
        self.problems.extend(step.problems)
        known = []
        for branch in conditions.BRANCHES:
            inner = set(names)
            where = (*loc, branch)
            step.branches[branch] = self.steps(step.raw_branches.get(branch, []), where, inner)
            known.append(inner)
            for child in step.branches[branch]:
                if child.name == "save":
                    self.problems.append(
                        (
                            "a save is never inside if: (a recipe saves once, whichever way "
                            "it goes): put the save after the block",
                            child.loc,
                        )
                    )
                elif child.app != step.app and {child.app, step.app} <= set(self.app_kinds):
                    self.problems.append(
                        (
                            f"the steps of an if: block drive the app of its if ({step.app}): "
                            f"give the if app: {child.app}, or split the block",
                            child.loc,
                        )
                    )
        names |= known[0] & known[1]
        return step

    def check_test(self, step: Step, names: set[str]) -> None:
        test = conditions.test_of(step)
        argument = step.options[test]
        where = (*step.loc, test)
        if test in ("found", "missing"):
            if not isinstance(argument, str) or not argument.isidentifier():
                step.problems.append(
                    (f"{test}: names a column or a variable set earlier, e.g. {test}: draft", where)
                )
            elif argument not in names:
                known = ", ".join(sorted(names))
                step.problems.append(
                    (f"unknown column {argument!r} in if: {test}; known here: {known}", where)
                )
        elif test == "equals":
            if (
                not isinstance(argument, list)
                or len(argument) != 2
                or not all(isinstance(v, str | int | float) for v in argument)
            ):
                step.problems.append(
                    ('equals: takes two values, e.g. equals: ["{{ change }}", END]', where)
                )
                return
            for index, text in enumerate(argument):
                _check_template(str(text), names, (*where, index), step.problems)
        elif step.kind != "web":
            step.problems.append(
                (
                    f"shows: is for web apps; app {step.app!r} is {step.kind} (test found:, "
                    "missing: or equals:, or wait_for a window)",
                    where,
                )
            )
        elif not isinstance(argument, str):
            step.problems.append(("shows: names an element (SCREEN/ELEMENT) or a selector", where))
        else:
            check_selector_or_element(step, "shows", argument, self.screens.get(step.app, {}))

    def check(self, row: type[BaseModel]) -> Recipe:
        spec, problems = self.spec, self.problems
        if self.bot_config.entry:
            problems.append(("a recipe bot has no entry: (its steps are the bot)", ("entry",)))
        known = set(spec.columns) | BUILT_IN
        _check_template(spec.key, set(spec.columns), (*ROOT, "key"), problems)
        self.check_input()
        download = self.steps(spec.download or [], (*ROOT, "download"), set())
        if spec.download is not None and not any(s.name == "download" for s in download):
            problems.append(("download: steps end with a download step", (*ROOT, "download")))
        find_names = set(known)
        find: list[Step] = []
        if spec.find_existing is not None:
            where = (*ROOT, "find_existing")
            find = self.steps(spec.find_existing.steps, (*where, "steps"), find_names)
            _check_template(spec.find_existing.found, find_names, (*where, "found"), problems)
            problems.extend(
                ("find_existing only looks: it cannot save", s.loc)
                for s in find
                if s.name == "save"
            )
        elif spec.look_first:
            problems.append(("look_first needs find_existing:", (*ROOT, "look_first")))
        names = set(find_names if spec.look_first else known)
        steps = self.steps(spec.steps, (*ROOT, "steps"), names)
        self.check_saves(steps)
        _check_template(spec.result, names, (*ROOT, "result"), problems)
        used = sorted({s.app for s in [*download, *find, *steps]})
        return Recipe(self.bot_config.bot, spec, row, steps, find, download, used)

    def check_input(self) -> None:
        spec = self.spec
        if spec.input not in self.bot_config.inputs and spec.download is None:
            declared = ", ".join(sorted(self.bot_config.inputs)) or "(none)"
            self.problems.append(
                (
                    f"input {spec.input!r} is not among the bot's inputs: ({declared}) "
                    "and no download: steps make it",
                    (*ROOT, "input"),
                )
            )
        for column in spec.only or {}:
            if column not in spec.columns:
                self.problems.append(
                    (
                        f"only: unknown column {column!r}; columns: {', '.join(spec.columns)}",
                        (*ROOT, "only", column),
                    )
                )

    def check_saves(self, steps: list[Step]) -> None:
        saves = [step for step in steps if step.name == "save"]
        if not saves:
            self.problems.append(
                ("no save step: mark the step that changes the target with save:", (*ROOT, "steps"))
            )
        for extra in saves[1:]:
            self.problems.append(
                ("one save step per recipe (the moment the target changes)", extra.loc)
            )
        for save in saves[:1]:
            if (
                save.kind == "web"
                and save.get("reference") is None
                and save.sets in _names(self.spec.result)
            ):
                self.problems.append(
                    (
                        f"result {self.spec.result!r} needs the save's reference: say where the "
                        "app shows it, reference: SCREEN/ELEMENT or a selector",
                        save.loc,
                    )
                )
        if saves and self.spec.find_existing is None:
            self.problems.append(
                (
                    "a save without find_existing: add find_existing: steps that look the item "
                    "up in the target, so an interrupted save is never repeated",
                    saves[0].loc,
                )
            )


def _names(text: str) -> set[str]:
    try:
        return templates.names_in(text) if templates.is_template(text) else set()
    except templates.TemplateProblem:
        return set()


def _check_templates(step: Step, names: set[str]) -> None:
    for key, value in step.options.items():
        if key in ("where", "skip", "expect") and isinstance(value, dict):
            for column, text in value.items():
                _check_template(str(text), names, (*step.loc, key, column), step.problems)
        elif isinstance(value, str) and templates.is_template(value):
            _check_template(value, names, (*step.loc, key), step.problems)


def _check_template(text: str, names: set[str], loc: Loc, problems: list[tuple[str, Loc]]) -> None:
    if not templates.is_template(text):
        if loc[-1] == "key" and text not in names:
            problems.append(
                (f"key {text!r} is not a column; columns: {', '.join(sorted(names))}", loc)
            )
        return
    try:
        used = templates.names_in(text)
    except templates.TemplateProblem as exc:
        problems.append((str(exc), loc))
        return
    for name in sorted(used - names):
        problems.append(
            (f"unknown column {name!r} in {text!r}; known here: {', '.join(sorted(names))}", loc)
        )


def _check_secret(step: Step, bot_config: BotConfig, config: Config) -> None:
    name = step.get("secret")
    if name is None:
        return
    if step.get("value") is not None:
        step.problems.append(("give value: or secret:, not both", step.loc))
    credentials = {config.apps[a].credential for a in bot_config.apps if a in config.apps}
    if name not in set(bot_config.secrets) | credentials:
        step.problems.append(
            (
                f"secret {name!r} is not in the bot's secrets: list (nor an app's credential)",
                (*step.loc, "secret"),
            )
        )


def _error(problems: list[tuple[str, Loc]], doc: LocatedYaml) -> ConfigError:
    errors = [
        ConfigError(
            message, file=doc.file, line=doc.line_of(loc), field=".".join(str(p) for p in loc)
        )
        for message, loc in problems
    ]
    first = errors[0]
    first.others = errors[1:]
    return first
