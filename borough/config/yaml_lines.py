"""Load YAML and remember the line of every key, so errors can point at the file.

Config files are small and written by people, so anything else is refused before it can
cost memory or time, with the file and line: files over :data:`MAX_BYTES`, values nested
deeper than :data:`MAX_DEPTH`, and aliases that expand a document to more than
:data:`MAX_NODES` values (the "billion laughs": nine lines that grow to 8**9 strings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from borough.errors import ConfigError

Location = tuple[str | int, ...]

MAX_BYTES = 1024 * 1024  #: a config file larger than this is not a config file
MAX_DEPTH = 50  #: lists and mappings nested deeper than this
MAX_NODES = 100_000  #: values in a document once every alias is expanded


@dataclass
class LocatedYaml:
    """A parsed YAML document and the 1-based line of each key path in it."""

    file: Path
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, loc: Location) -> int | None:
        """The line of the deepest known prefix of ``loc`` (pydantic error locations)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


def load_yaml(file: Path) -> LocatedYaml:
    """Parse ``file``; a syntax error, a duplicate key or a limit raises :class:`ConfigError`."""
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("file not found", file=file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the file ({exc.strerror})", file=file) from None
    if len(raw) > MAX_BYTES:
        raise _too_large(file, raw.count(b"\n", 0, MAX_BYTES) + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"not UTF-8 text ({exc.reason})", file=file, line=line) from None
    return parse_yaml(text, file)


def parse_yaml(text: str, file: Path) -> LocatedYaml:
    if len(text) > MAX_BYTES:
        raise _too_large(file, text.count("\n", 0, MAX_BYTES) + 1)
    loader = _BoundedLoader(text, file)
    try:
        node = loader.get_single_node()
        if node is None:
            return LocatedYaml(file, {}, {(): 1})
        lines: dict[Location, int] = {}
        _index(node, (), lines, file)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"YAML syntax error: {problem}", file=file, line=line) from None
    finally:
        loader.dispose()
    return LocatedYaml(file, data, lines)


def _too_large(file: Path, line: int) -> ConfigError:
    return ConfigError(
        f"the file is larger than {MAX_BYTES // 1024} KiB (from this line on); a config "
        "file is written by hand: is this the right file?",
        file=file,
        line=line,
    )


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting depth and alias expansion while it composes.

    Composing is cheap even for a bomb (an alias is one shared node); expanding it is
    what explodes, so each node's expanded size is summed bottom-up and checked here,
    before anything walks or copies the document.
    """

    def __init__(self, text: str, file: Path) -> None:
        super().__init__(text)
        self._file = file
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> values it stands for, once complete

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:
                raise self._refuse("an alias refers to the value that contains it", mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise self._refuse(f"values are nested deeper than {MAX_DEPTH} levels", mark)
        node = super().compose_node(parent, index)
        self._depth -= 1
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._sizes[id(child)] for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        if size > MAX_NODES:
            raise self._refuse(
                f"aliases (*name) expand this value to more than {MAX_NODES:,} values; "
                "write the values out, or use fewer nested aliases",
                mark,
            )
        self._sizes[id(node)] = size
        return node

    def _refuse(self, message: str, mark: yaml.Mark) -> ConfigError:
        return ConfigError(message, file=self._file, line=mark.line + 1)


def _index(node: yaml.Node, path: Location, lines: dict[Location, int], file: Path) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            if key in seen:
                raise ConfigError(
                    f"key {key!r} appears twice", file=file, line=key_node.start_mark.line + 1
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _index(value_node, (*path, key), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*path, index), lines, file)
