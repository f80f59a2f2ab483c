"""``if:`` blocks in recipes: a declared choice between two lists of steps, no code.

.. code-block:: yaml

    - if: {found: draft}              # find_row found a draft case earlier
      then:
        - goto: {path: "/case/{{ draft['Case Ref'] }}/edit", frame: content}
      else:
        - click: {element: menu/new case, frame: nav, loads: content}

The test is one of four: ``found: NAME`` / ``missing: NAME`` (a column or a variable set
earlier holds a value / holds none), ``equals: [A, B]`` (two templates show the same text)
and ``shows: ELEMENT`` (web: a declared element or a selector is visible now, in ``frame:``
or ``window:``). An ``if`` never holds the ``save`` (a recipe saves once, on every path),
and every step in it drives the ``if``'s app, so a block of one web app stays one
repeatable block. ``borough config check`` checks both branches like any steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from borough.errors import ConfigError
from borough.recipes import templates
from borough.recipes.steps import Step

if TYPE_CHECKING:
    from borough.context import RunContext

TESTS = ("found", "missing", "equals", "shows")
BRANCHES = ("then", "else")
#: keys an ``if:`` mapping may carry besides its test
PLACE = frozenset({"app", "frame", "window"})
_EXAMPLE = "e.g. - if: {found: draft}"


def is_if(raw: Any) -> bool:
    return isinstance(raw, dict) and "if" in raw


def parse_if(
    raw: dict[str, Any],
    loc: tuple[str | int, ...],
    default_app: str | None,
    kinds: Mapping[str, str],
) -> Step:
    """The ``if`` step of ``raw``; its branches stay raw (``raw_branches``) for the checker."""
    where = (*loc, "if")
    test = raw["if"]
    options = dict(test) if isinstance(test, dict) else {}
    app = str(options.pop("app", default_app) or "")
    step = Step("if", options, app, kinds.get(app, "?"), where)
    for key in raw:
        if key not in ("if", *BRANCHES, "note"):
            step.problems.append(
                (f"unknown key {key!r} in an if: block: it has if:, then: and else:", (*loc, key))
            )
    if not isinstance(test, dict):
        step.problems.append((f"if: takes one test ({', '.join(TESTS)}), {_EXAMPLE}", where))
    else:
        named = [key for key in options if key in TESTS]
        for key in options:
            if key not in TESTS and key not in PLACE and key != "note":
                step.problems.append(
                    (f"unknown test {key!r}; tests are: {', '.join(TESTS)}", (*where, key))
                )
        if len(named) > 1:
            step.problems.append((f"one test per if:, found {', '.join(named)}", where))
        elif not named and all(key in PLACE for key in options):
            step.problems.append((f"if: needs a test ({', '.join(TESTS)}), {_EXAMPLE}", where))
    if not app:
        step.problems.append(("no app for this if: set recipe app: or the if's app:", where))
    elif app not in kinds:
        known = ", ".join(sorted(kinds)) or "(none)"
        step.problems.append((f"unknown app {app!r}; the bot's apps: {known}", where))
    if "then" not in raw:
        step.problems.append(("an if: needs then: (the steps taken when its test holds)", where))
    for branch in BRANCHES:
        steps = raw.get(branch)
        if branch in raw and (not isinstance(steps, list) or not steps):
            step.problems.append(
                (f"{branch}: is a list of steps, e.g. {branch}: [{{keys: enter}}]", (*loc, branch))
            )
        elif isinstance(steps, list):
            step.raw_branches[branch] = steps
    return step


def test_of(step: Step) -> str:
    """The test an ``if`` step makes (checked: exactly one)."""
    return next(key for key in step.options if key in TESTS)


def _holds_value(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def chosen(
    step: Step, values: Mapping[str, Any], shows: Callable[[Step], bool] | None
) -> tuple[str, list[Step]]:
    """Which branch the item takes (``then`` or ``else``) and its steps (maybe none)."""
    test = test_of(step)
    argument = step.options[test]
    if test in ("found", "missing"):
        holds = _holds_value(values.get(str(argument))) == (test == "found")
    elif test == "equals":
        first, second = (templates.render(str(v), values).strip() for v in argument)
        holds = first == second
    elif shows is None:
        raise ConfigError(f"shows: is for web apps; app {step.app!r} is {step.kind}")
    else:
        holds = shows(step)
    branch = "then" if holds else "else"
    return branch, step.branches.get(branch, [])


def take(
    step: Step,
    values: Mapping[str, Any],
    ctx: RunContext,
    do: Callable[[Step], None],
    shows: Callable[[Step], bool] | None = None,
) -> None:
    """Run the branch the item takes; the trail says which (the test's name, never a value)."""
    branch, steps = chosen(step, values, shows)
    where = ".".join(str(part) for part in step.loc[:-1])
    ctx.step("recipe.if", target=step.app, test=test_of(step), branch=branch, at=where)
    for child in steps:
        do(child)


def summary(step: Step, values: Mapping[str, Any] | None = None) -> str:
    """The test in words for ``run --dry-run``: ``if found draft``."""
    test = test_of(step)
    argument = step.options[test]
    if test == "equals" and values is not None:
        shown = []
        for text in argument:
            try:
                shown.append(repr(templates.render(str(text), values)))
            except templates.TemplateProblem:
                shown.append(repr(str(text)))  # a variable set by an earlier step
        return f"if {shown[0]} equals {shown[1]}"
    if test == "equals":
        return f"if {argument[0]!r} equals {argument[1]!r}"
    return f"if {test} {argument}"
