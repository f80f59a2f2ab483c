"""The settings reference, generated from the pydantic models that validate the files.

``borough config reference`` prints it (``--write`` keeps ``docs/settings-reference.md``
up to date, ``--check`` fails when that file is stale; CI runs the check), so the list of
keys, types, defaults and limits can never drift from what borough accepts. Each key's
description is its model field's ``description``.
"""

from __future__ import annotations

import enum
import json
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

#: the file the reference is kept in, relative to the source tree's root
REFERENCE_FILE = "docs/settings-reference.md"


@dataclass(frozen=True)
class Section:
    """One part of the reference: a heading, a sentence, the model, the keys' prefix."""

    title: str
    intro: str
    model: type[BaseModel]
    prefix: str = ""
    skip: tuple[str, ...] = ()


def core_sections() -> list[Section]:
    """borough.yaml, the keys every app has, bots/*.yaml, and each installed connector kind."""
    from borough.config.models import AppConfig, BoroughSettings, BotConfig
    from borough.connect import installed_kinds

    sections = [
        Section(
            "config/borough.yaml",
            "The installation: its folders, ledger, audit trail, secrets, logging, dashboard.",
            BoroughSettings,
        ),
        Section(
            "config/apps.yaml: every app",
            "`apps: {NAME: {...}}`. Keys every app has, whatever its kind; the kind's own "
            "keys follow.",
            AppConfig,
            prefix="apps.NAME.",
        ),
    ]
    for kind, settings in installed_kinds():
        sections.append(
            Section(
                f"config/apps.yaml: kind: {kind}",
                f"The keys of an app with `kind: {kind}` (`{settings.__module__}."
                f"{settings.__qualname__}`).",
                settings,
                prefix="apps.NAME.",
                skip=("credential",),
            )
        )
    sections.append(
        Section(
            "config/bots/NAME.yaml",
            "One bot: where it is, its inputs, apps, retries and rules. `settings:` is "
            "validated by the bot's own `settings_model`.",
            BotConfig,
        )
    )
    return sections


def render(sections: Sequence[Section]) -> str:
    """The whole reference as Markdown."""
    out = [
        "# Settings reference",
        "",
        "Every key borough reads from `config/`, generated from the models that validate",
        "them (`borough config reference`; do not edit by hand: `borough config reference",
        "--write` regenerates it, and CI fails while it is stale). A key written that is",
        "not listed here is refused with its file and line.",
        "",
    ]
    for section in sections:
        out += [f"## {section.title}", "", section.intro, ""]
        out += ["| key | type | default | meaning |", "|---|---|---|---|"]
        for key, field in _fields(section.model, section.prefix, section.skip):
            out.append(
                f"| `{key}` | {_cell(_type(field.annotation))}{_limits(field)} | "
                f"{_cell(_default(field))} | {_cell(field.description or '')} |"
            )
        out.append("")
    return "\n".join(out)


def _fields(
    model: type[BaseModel], prefix: str, skip: tuple[str, ...] = ()
) -> Iterator[tuple[str, FieldInfo]]:
    """(dotted key, field) of a model, nested models opened up in place."""
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        key = f"{prefix}{field.alias or name}"
        nested = _nested(field.annotation)
        if nested is None:
            yield key, field
            continue
        inner, shape = nested
        yield key, field
        yield from _fields(inner, f"{key}{shape}.")


def _nested(annotation: Any) -> tuple[type[BaseModel], str] | None:
    """The model inside ``Model``, ``Model | None``, ``dict[str, Model]``, ``list[Model]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        models = [a for a in args if a is not type(None)]
        return _nested(models[0]) if len(models) == 1 else None
    if origin is dict and len(args) == 2:
        found = _nested(args[1])
        return (found[0], ".KEY" + found[1]) if found else None
    if origin is list and args:
        found = _nested(args[0])
        return (found[0], "[]" + found[1]) if found else None
    return None


def _type(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        return "null"
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (Union, types.UnionType):
        return " | ".join(_type(a) for a in args)
    if origin is dict:
        return f"map of {_type(args[0])} to {_type(args[1])}" if args else "map"
    if origin in (list, tuple, set, frozenset):
        return f"list of {_type(args[0])}" if args else "list"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(json.dumps(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping (below)"
    names = {str: "text", int: "integer", float: "number", bool: "true/false"}
    if annotation is Any:
        return "any"
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _limits(field: FieldInfo) -> str:
    marks = (
        (Ge, "≥", "ge"),
        (Gt, ">", "gt"),
        (Le, "≤", "le"),
        (Lt, "<", "lt"),
        (MinLen, "length ≥", "min_length"),
        (MaxLen, "length ≤", "max_length"),
    )
    found = [
        f"{sign} {getattr(meta, attr)}"
        for meta in field.metadata
        for kind, sign, attr in marks
        if isinstance(meta, kind)
    ]
    return f" ({', '.join(found)})" if found else ""


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value: Any = field.get_default(call_default_factory=True, validated_data={})
    if isinstance(value, BaseModel):
        return "(below)"
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        return "none"
    if value in ({}, [], ()):
        return "empty"
    return json.dumps(value, ensure_ascii=False, default=str)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (pipes escaped, one line)."""
    return " ".join(text.replace("|", "\\|").split())
