"""A bot's input files: where each one is, and how to read it (encoding, sheet, limits).

``ctx.inputs["csv"]`` is an :class:`InputFile`: a path that carries its input's reading
options from the bot's config, so ``read_table(ctx.inputs["csv"], Row)`` honours an
``encoding: cp1252`` without the bot passing anything, and an error about the file can
say exactly which setting, in which file, would fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PosixPath

from borough.config.models import InputLimits, InputSpec
from borough.errors import InputError

DEFAULT_LIMITS = InputLimits()


class InputFile(PosixPath):
    """A path plus the options of the input it came from (all None for a plain path)."""

    input_name: str | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    limits: InputLimits = DEFAULT_LIMITS
    declared_in: Path | None = None  # the bot config file where the input's options go

    @classmethod
    def of(
        cls,
        path: Path,
        *,
        name: str,
        spec: InputSpec | None = None,
        declared_in: Path | None = None,
    ) -> InputFile:
        made = cls(path)
        made.input_name = name
        made.declared_in = declared_in
        if spec is not None:
            made.encoding, made.sheet, made.limits = spec.encoding, spec.sheet, spec.limits
        return made

    def setting_hint(self, key: str, value: str) -> str:
        """Where to write ``key: value`` for this input, in the words of its config file."""
        if self.input_name is None:
            return f"pass {key}={value!r} to read_table, or give the input {key}: {value}"
        where = f" in {self.declared_in}" if self.declared_in is not None else ""
        return (
            f"set `{key}: {value}` on input {self.input_name!r}{where}, e.g.\n"
            f"  inputs:\n    {self.input_name}: {{path: ..., {key}: {value}}}"
        )


def resolve_inputs(
    home: Path,
    declared: Mapping[str, InputSpec],
    overrides: Mapping[str, str],
    *,
    declared_in: Path | None = None,
) -> dict[str, Path]:
    """The run's inputs: the config's, with paths replaced by ``overrides`` (``--input``);
    an override keeps the options (encoding, sheet, limits) its input declares."""
    unknown = set(overrides) - set(declared)
    if declared and unknown:
        raise InputError(
            f"unknown input {sorted(unknown)[0]!r}; this bot reads: {', '.join(sorted(declared))}"
        )
    resolved: dict[str, Path] = {}
    for name in {**declared, **overrides}:
        spec = declared.get(name)
        raw = overrides.get(name) or (spec.path if spec else "")
        path = Path(raw).expanduser()
        path = path if path.is_absolute() else home / path
        resolved[name] = InputFile.of(path, name=name, spec=spec, declared_in=declared_in)
    return resolved
