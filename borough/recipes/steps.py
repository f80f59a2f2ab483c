"""The step vocabulary of recipes: what each step takes, and its checks before any run.

A step is a one-key mapping, ``- click: "#btnSave"`` (the shorthand) or
``- click: {element: case form/save, frame: content}``. Which app a step drives is the
recipe's ``app:`` unless the step says ``app:``; its kind (web, desktop) decides which
steps and keys are allowed. Checks name the step's line; see docs/recipes.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from borough.recipes import selectors, templates

#: keys every step may carry
COMMON = frozenset({"app", "frame", "window", "note"})


@dataclass(frozen=True)
class Spec:
    kinds: frozenset[str]
    short: str | None  #: the key a scalar value stands for
    keys: frozenset[str]
    templated: frozenset[str] = frozenset()  #: keys whose values are {{ }} templates
    sets: str | None = None  #: the key naming the variable the step sets


def _spec(
    kinds: str, short: str | None, keys: str, templated: str = "", sets: str | None = None
) -> Spec:
    return Spec(
        frozenset(kinds.split()),
        short,
        frozenset(keys.split()) | COMMON,
        frozenset(templated.split()),
        sets,
    )


SPECS: dict[str, Spec] = {
    "goto": _spec("web", "path", "path", "path"),
    "click": _spec("web desktop", "selector", "selector element loads opens image dx dy"),
    "fill": _spec(
        "web desktop", None, "selector element value secret personal field key image dx dy",
        "value",
    ),
    "select": _spec("web", None, "selector element value", "value"),
    "wait_for": _spec("web desktop", "selector", "selector element title screen timeout"),
    "read": _spec("web desktop", None, "selector element field key into", sets="into"),
    "verify": _spec("web desktop", None, "selector element field key equals filled", "equals"),
    "save": _spec(
        "web desktop", "selector",
        "selector element keys confirm reference pattern dialog into", sets="into",
    ),
    "find_row": _spec(
        "web desktop", None, "table element from where skip expect into next_page", sets="into"
    ),
    "download": _spec("web", "selector", "selector element into", sets="into"),
    "keys": _spec("desktop", "keys", "keys"),
    "paste": _spec("desktop", "value", "value", "value"),
    "home": _spec("desktop", None, ""),
    "copy": _spec("desktop", "keys", "keys into", sets="into"),
}  # fmt: skip


@dataclass
class Step:
    """One parsed step: its name, options, app and where it was written."""

    name: str
    options: dict[str, Any]
    app: str
    kind: str
    loc: tuple[str | int, ...]
    line: int | None = None
    sets: str | None = None
    problems: list[tuple[str, tuple[str | int, ...]]] = field(default_factory=list)
    #: an ``if`` step's branches (``then``, ``else``), parsed; see borough.recipes.conditions
    branches: dict[str, list[Step]] = field(default_factory=dict)
    raw_branches: dict[str, list[Any]] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    def describe(self, values: Mapping[str, Any] | None = None) -> str:
        """One line for ``run --dry-run``: the step with its values filled in."""
        parts = []
        for key, value in self.options.items():
            if key in ("note",):
                continue
            if key == "secret":
                parts.append(f"secret={value} (by reference)")
                continue
            shown = value
            if values is not None and isinstance(value, dict):
                shown = {k: _shown(str(v), values) for k, v in value.items()}
            elif (
                values is not None and isinstance(value, str) and key in SPECS[self.name].templated
            ):
                try:
                    shown = templates.render(value, values)
                except templates.TemplateProblem as exc:
                    shown = f"<{exc}>"
            parts.append(f"{key}={shown!r}" if isinstance(shown, str) else f"{key}={shown}")
        return f"{self.name} [{self.app}] " + " ".join(parts)


def _shown(text: str, values: Mapping[str, Any]) -> str:
    try:
        return templates.render(text, values)
    except templates.TemplateProblem as exc:
        return f"<{exc}>"


def parse_step(
    raw: Any,
    loc: tuple[str | int, ...],
    default_app: str | None,
    app_kinds: Mapping[str, str],
) -> Step:
    """A step from its YAML; problems are collected on it (the caller adds the line)."""
    if not isinstance(raw, dict) or not raw:
        step = Step("?", {}, default_app or "?", "?", loc)
        step.problems.append(
            ('a step is a mapping with one step name, e.g. - click: "#btnSave"', loc)
        )
        return step
    names = [key for key in raw if key in SPECS]
    extra = [key for key in raw if key not in SPECS and key not in COMMON]
    if len(names) != 1 or extra:
        unknown = extra[0] if extra else None
        step = Step(str(unknown or "?"), {}, default_app or "?", "?", loc)
        if unknown is not None:
            step.problems.append(
                (
                    f"unknown step {unknown!r}; steps are: {', '.join(sorted(SPECS))}",
                    (*loc, unknown),
                )
            )
        elif not names:
            step.problems.append((f"no step name; steps are: {', '.join(sorted(SPECS))}", loc))
        else:
            step.problems.append((f"one step per list entry, found {', '.join(names)}", loc))
        return step
    name = names[0]
    spec = SPECS[name]
    value = raw[name]
    options: dict[str, Any]
    if isinstance(value, dict):
        options = dict(value)
    elif spec.short is not None and isinstance(value, str | int | float | list):
        options = {spec.short: value}
    elif value is None or value is True:
        options = {}
    else:
        options = {}
        hint = f"write {name}: {{...}}" if spec.short is None else f"write {name}: VALUE"
        step_loc = (*loc, name)
        return _with(
            Step(name, options, default_app or "?", "?", step_loc), f"{name} takes options: {hint}"
        )
    options.update({k: v for k, v in raw.items() if k in COMMON})
    app = str(options.pop("app", default_app) or "")
    step_loc = (*loc, name)
    kind = app_kinds.get(app, "?")
    step = Step(name, options, app, kind, step_loc, sets=_sets(name, spec, options))
    if not app:
        return _with(step, "no app for this step: set recipe app: or the step's app:")
    if app not in app_kinds:
        return _with(
            step, f"unknown app {app!r}; the bot's apps: {', '.join(sorted(app_kinds)) or '(none)'}"
        )
    if kind not in spec.kinds:
        return _with(
            step, f"step {name!r} is for {'/'.join(sorted(spec.kinds))} apps; app {app!r} is {kind}"
        )
    for key in options:
        if key not in spec.keys:
            allowed = ", ".join(sorted(spec.keys))
            step.problems.append(
                (f"unknown key {key!r} for step {name!r}; allowed: {allowed}", (*step_loc, key))
            )
    return step


def _sets(name: str, spec: Spec, options: dict[str, Any]) -> str | None:
    """The variable a step sets (``into:``; a save sets ``reference`` unless told)."""
    if spec.sets is None:
        return None
    value = options.get(spec.sets)
    return str(value) if value is not None else ("reference" if name == "save" else None)


def _with(step: Step, message: str) -> Step:
    step.problems.append((message, step.loc))
    return step


def check_target(step: Step, screens: Mapping[str, Any]) -> None:
    """The step's selector / element / keys are well formed and declared."""
    opts = step.options
    selector = opts.get("selector") if step.name != "find_row" else opts.get("table")
    element = opts.get("element")
    if step.name == "find_row" and isinstance(selector, str) and _declared(selector, screens):
        selector, element = None, selector
    needs_target = step.name in (
        "click",
        "select",
        "wait_for",
        "read",
        "verify",
        "save",
        "download",
        "fill",
    )
    if step.kind == "web":
        if selector is not None and element is not None:
            step.problems.append(("give selector or element, not both", step.loc))
        if isinstance(selector, str):
            problem = selectors.selector_problem(selector)
            if problem:
                step.problems.append((f"bad selector: {problem}", step.loc))
        elif selector is not None:
            step.problems.append(('a selector is text, e.g. "#btnSave"', step.loc))
        if element is not None:
            _check_element(step, str(element), screens)
        if step.name == "find_row" and selector is None and element is None and "from" not in opts:
            step.problems.append(
                ("find_row reads a table (table: or element:) or a variable (from:)", step.loc)
            )
        elif needs_target and selector is None and element is None and not opts.get("filled"):
            step.problems.append((f"{step.name} needs selector: or element:", step.loc))
        for key in ("confirm", "reference", "next_page"):
            if opts.get(key) is not None:
                check_selector_or_element(step, key, str(opts[key]), screens)
        return
    for key in ("keys", "key"):
        chords = opts.get(key)
        for chord in chords if isinstance(chords, list) else [chords] if chords else []:
            problem = selectors.chord_problem(str(chord))
            if problem:
                step.problems.append((problem, (*step.loc, key)))
    if step.name == "fill" and not opts.get("field"):
        step.problems.append(("a desktop fill names the field: field: Surname", step.loc))
    if step.name == "save" and not opts.get("keys"):
        step.problems.append(("a desktop save presses keys: keys: alt+s", step.loc))
    if step.name == "click" and not opts.get("image"):
        step.problems.append(("a desktop click finds an image: image: images/save.png", step.loc))
    if step.name == "wait_for" and not (opts.get("title") or opts.get("screen")):
        step.problems.append(("a desktop wait_for names a window: title: or screen:", step.loc))
    if step.name == "screen" and opts.get("screen") and opts["screen"] not in screens:
        step.problems.append((f"app {step.app!r} declares no screen {opts['screen']!r}", step.loc))


def _check_element(step: Step, element: str, screens: Mapping[str, Any]) -> None:
    screen, sep, name = element.partition("/")
    if not sep:
        step.problems.append(
            (f"element {element!r}: write SCREEN/ELEMENT, e.g. case form/save", step.loc)
        )
        return
    declared = screens.get(screen.strip())
    if not isinstance(declared, dict):
        known = ", ".join(sorted(screens)) or "(none)"
        step.problems.append(
            (
                f"app {step.app!r} declares no screen {screen.strip()!r} (declared: {known})",
                step.loc,
            )
        )
        return
    elements = declared.get("elements") or {}
    if name.strip() not in elements:
        known = ", ".join(sorted(elements)) or "(none)"
        step.problems.append(
            (
                f"screen {screen.strip()!r} declares no element {name.strip()!r} "
                f"(declared: {known})",
                step.loc,
            )
        )


def _declared(text: str, screens: Mapping[str, Any]) -> bool:
    screen, sep, _ = text.partition("/")
    return bool(sep) and screen.strip() in screens


def check_selector_or_element(step: Step, key: str, text: str, screens: Mapping[str, Any]) -> None:
    """``confirm:``, ``reference:``, ``next_page:``, ``shows:``: a declared SCREEN/ELEMENT or
    a selector."""
    if _declared(text, screens):
        _check_element(step, text, screens)
        return
    problem = selectors.selector_problem(text)
    if problem:
        step.problems.append((f"bad {key} selector: {problem}", (*step.loc, key)))
