"""``{{ column }}`` templates in recipes: sandboxed, strict, and checked before a run.

A template is rendered by Jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment` (the
dashboard's engine): no attribute of a Python object beyond plain data, no imports, no
code. Every name it uses must be a column of the recipe, a variable set by an earlier
step (``read``, ``find_row``, ``download``), or ``key``; an unknown name is a config
error with its line, and a value missing at run time is an error, never an empty string.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from borough.errors import BoroughError


class TemplateProblem(BoroughError):
    """A template that does not parse, or names a value the recipe does not have."""


def uk_date(value: Any) -> str:
    """A date as UK forms want it: 23/11/2026 (text is passed through)."""
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]}"
    return str(value)


def amount(value: Any) -> str:
    """Two decimal places, no symbol: 1234.50."""
    return f"{Decimal(str(value)):.2f}"


def pounds(value: Any) -> str:
    """As UK apps show money: £1,234.50."""
    return f"£{Decimal(str(value)):,.2f}"


@cache
def environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    env.filters.update({"uk_date": uk_date, "amount": amount, "pounds": pounds})
    env.globals.clear()  # no range(), dict(), lipsum(), cycler...: values and filters only
    return env


def names_in(text: str) -> set[str]:
    """The variables a template reads (its undeclared names); raises on a syntax error."""
    try:
        tree = environment().parse(text)
    except TemplateError as exc:
        raise TemplateProblem(f"template {text!r} does not parse: {exc}") from None
    unknown_filters = {
        node.name for node in tree.find_all(nodes.Filter) if node.name not in environment().filters
    }
    if unknown_filters:
        known = ", ".join(sorted(("uk_date", "amount", "pounds", "upper", "lower", "trim")))
        raise TemplateProblem(
            f"template {text!r} uses unknown filter {sorted(unknown_filters)[0]!r}; "
            f"useful ones: {known}"
        )
    if any(True for _ in tree.find_all((nodes.Call, nodes.Macro, nodes.Import, nodes.Include))):
        raise TemplateProblem(f"template {text!r} calls something: templates only show values")
    return set(meta.find_undeclared_variables(tree))


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def render(text: str, values: Mapping[str, Any]) -> str:
    """``text`` with its values filled in (plain text comes back unchanged)."""
    if not is_template(text):
        return text
    try:
        return environment().from_string(text).render(**values)
    except TemplateError as exc:
        raise TemplateProblem(f"template {text!r}: {exc}") from None
