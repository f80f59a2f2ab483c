"""The limits of borough.config.yaml_lines: ordinary YAML passes, bombs name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from borough.config import yaml_lines
from borough.config.yaml_lines import load_yaml, parse_yaml
from borough.errors import ConfigError

FILE = Path("config/bots/x.yaml")


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text, FILE)
    return caught.value


def test_ordinary_anchors_and_merge_keys_still_work():
    doc = parse_yaml(
        "defaults: &d {attempts: 3, backoff_seconds: 2}\n"
        "a: {<<: *d, attempts: 5}\n"
        "b: *d\n"
        "list: &l [1, 2, 3]\n"
        "again: [*l, *l]\n",
        FILE,
    )
    assert doc.data["a"] == {"attempts": 5, "backoff_seconds": 2}
    assert doc.data["b"] == {"attempts": 3, "backoff_seconds": 2}
    assert doc.data["again"] == [[1, 2, 3], [1, 2, 3]]
    assert doc.line_of(("again",)) == 5


def test_expansion_is_counted_through_aliases(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(yaml_lines, "MAX_NODES", 50)
    text = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: &b [*a, *a, *a]\nc: [*b, *b]\n"
    error = refused(text)
    assert error.line == 3 and "more than 50 values" in str(error)
    assert str(error).startswith(f"{FILE}:3: aliases (*name) expand")


def test_an_alias_inside_its_own_anchor_is_refused():
    error = refused("loop: &a [1, *a]\n")
    assert error.line == 1 and "contains it" in str(error)


def test_depth_is_limited_at_the_line_where_it_is_crossed():
    text = "x:\n" + "".join(f"{' ' * (i + 1)}k{i}:\n" for i in range(60))
    error = refused(text)
    assert "nested deeper than 50 levels" in str(error)
    assert error.line == 50  # x is level 1, k0 level 2 (line 2), ... k48 is level 51


def test_a_large_file_is_refused_by_line_before_it_is_read_whole(tmp_path: Path):
    big = tmp_path / "big.yaml"
    big.write_text("# filler line\n" * (yaml_lines.MAX_BYTES // 14 + 10))
    with pytest.raises(ConfigError) as caught:
        load_yaml(big)
    error = caught.value
    assert "larger than 1024 KiB" in str(error)
    assert error.line == yaml_lines.MAX_BYTES // 14 + 1


def test_bytes_that_are_not_utf8_name_their_line(tmp_path: Path):
    file = tmp_path / "x.yaml"
    file.write_bytes("bot: x\ndescription: caf\u00e9\n".encode("cp1252"))
    with pytest.raises(ConfigError) as caught:
        load_yaml(file)
    error = caught.value
    assert error.line == 2 and "not UTF-8" in str(error)
