"""``borough new bot`` scaffolds a bot that runs, passes its own test, and validates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.testing import home_env

ROOT = Path(__file__).resolve().parents[3]


def checkout(tmp_path: Path) -> Path:
    """A council's folder: borough's config, and a ``bots`` package of its own (the name is
    free: borough's example bots live in ``borough_examples``)."""
    home = tmp_path / "borough"
    shutil.copytree(ROOT / "config", home / "config")
    for package in ("bots", "tests", "tests/unit", "tests/unit/bots"):
        (home / package).mkdir(parents=True, exist_ok=True)
        (home / package / "__init__.py").write_text("")
    return home


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_scaffolded_bot_works_end_to_end(tmp_path: Path):
    home = checkout(tmp_path)
    result = CliRunner().invoke(app, ["new", "bot", "blue-badge-renewals", "--home", str(home)])
    assert result.exit_code == 0, result.output
    for relative in (
        "bots/blue_badge_renewals.py",
        "config/bots/blue-badge-renewals.yaml",
        "sample-data/blue-badge-renewals.csv",
        "tests/unit/bots/test_blue_badge_renewals.py",
    ):
        assert (home / relative).exists(), relative
    env = {**os.environ, **home_env(home), "PYTHONPATH": str(home)}
    check = subprocess.run(
        [sys.executable, "-m", "borough", "config", "check"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        cwd=home,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run(
        [sys.executable, "-m", "borough", "run", "blue-badge-renewals", "-q"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        cwd=home,
    )
    assert run.returncode == 1, run.stdout + run.stderr  # one sample row is deliberately bad
    assert "Amount: Input should be a valid decimal" in run.stdout
    own_test = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/unit/bots/test_blue_badge_renewals.py",
        ],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        cwd=home,
    )
    assert own_test.returncode == 0, own_test.stdout + own_test.stderr


def test_refuses_bad_names_and_existing_files(tmp_path: Path):
    home = checkout(tmp_path)
    runner = CliRunner()
    bad = runner.invoke(app, ["new", "bot", "Blue_Badge", "--home", str(home)])
    assert bad.exit_code == 2 and "lower-case words joined by '-'" in bad.output
    assert runner.invoke(app, ["new", "bot", "x-y", "--home", str(home)]).exit_code == 0
    again = runner.invoke(app, ["new", "bot", "x-y", "--home", str(home)])
    assert again.exit_code == 3 and "not overwriting existing file" in again.output
