"""Hostile config files: each is refused with file:line, in bounded memory and time.

`borough config check` runs in a child capped at 768 MB of address space (it needs under
400 MB) and 60 s, so a regression fails here instead of taking the machine to 9 GB.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from borough.cli.exitcodes import ExitCode
from borough.testing import home_env, make_home
from tests.support.limits import run_capped

ROOT = Path(__file__).resolve().parents[2]


def billion_laughs(levels: int = 9) -> str:
    lines = ["bot: bomb", 'lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * 8)
        lines.append(f"lol{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def deep_nesting(depth: int = 200_000) -> str:
    return "bot: bomb\nsettings: " + "[" * depth + "]" * depth + "\n"


def deep_block_nesting(depth: int = 1_000) -> str:
    return "bot: bomb\nsettings:\n" + "".join(f"{' ' * (i + 1)}k{i}:\n" for i in range(depth))


def oversized(megabytes: int = 12) -> str:
    line = "# " + "x" * 97 + "\n"
    return "bot: bomb\n" + line * (megabytes * 10_000)


CASES = {
    "alias bomb": (billion_laughs(), "aliases", 7),  # lol5: the first over 100,000 values
    "deep flow nesting": (deep_nesting(), "nested deeper than", 2),
    "deep block nesting": (deep_block_nesting(), "nested deeper than", None),
    "oversized file": (oversized(), "larger than", None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_bot_config_is_refused_with_file_and_line(tmp_path: Path, case: str):
    text, words, line = CASES[case]
    home = make_home(tmp_path / "home", config=ROOT / "config")
    bomb = home / "config/bots/bomb.yaml"
    bomb.write_text(text, encoding="utf-8")
    done = run_capped(["config", "check"], home_env(home), memory_mb=768, timeout=60)
    assert done.returncode == ExitCode.ERROR, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    problem = next(row for row in done.stderr.splitlines() if "bomb.yaml" in row)
    assert words in problem, problem
    expected = f"bomb.yaml:{line}:" if line else "bomb.yaml:"
    assert expected in problem, problem
    assert problem.split("bomb.yaml:")[1].split(":")[0].isdigit(), problem


def test_hostile_borough_yaml_stops_every_command(tmp_path: Path):
    home = make_home(tmp_path / "home", config=ROOT / "config")
    (home / "config/borough.yaml").write_text(billion_laughs().replace("bot: bomb", "council: x"))
    done = run_capped(["runs", "list"], home_env(home), memory_mb=768, timeout=60)
    assert done.returncode == ExitCode.ERROR, done.stdout + done.stderr
    assert "borough.yaml:7:" in done.stderr and "aliases" in done.stderr
