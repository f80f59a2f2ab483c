"""``borough init`` and ``borough new bot --kind``: a council's own repository whose bots
run, pass their own tests and type-check as generated."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.registry import council_first
from borough.testing import home_env
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[3]
DOCS_BOT = ROOT / "tests" / "fixtures" / "docs_bot" / "fine_waivers.py"
KINDS = ("files", "web", "desktop")


def init(tmp_path: Path, *kinds: str) -> Path:
    """A council repository made by `borough init`, with one bot of each kind given."""
    runner = CliRunner()
    result = runner.invoke(app, ["init", str(tmp_path / "lambeth-bots"), "--council", "Lambeth"])
    assert result.exit_code == 0, result.output
    repo = tmp_path / "lambeth-bots"
    for kind in kinds:
        made = runner.invoke(
            app, ["new", "bot", f"{kind}-bot", "--kind", kind, "--home", str(repo)]
        )
        assert made.exit_code == 0, made.output
    return repo


def clean_env(repo: Path) -> dict[str, str]:
    """A borough process working in ``repo``, with no PYTHONPATH trick."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, **home_env(repo)}


def python(
    where: Path, *args: str, env: dict[str, str], expect: int = 0
) -> subprocess.CompletedProcess[str]:
    """``python -m ARGS`` in ``where``; its exit code must be ``expect``."""
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == expect, done.stdout + done.stderr
    return done


def test_init_makes_a_repository_of_the_councils_own(tmp_path: Path):
    repo = init(tmp_path)
    project = tomllib.loads((repo / "pyproject.toml").read_text())
    assert project["project"]["name"] == "lambeth-bots"
    assert project["tool"]["borough"]["package"] == "lambeth_bots"
    assert project["tool"]["mypy"]["strict"] is True
    assert (repo / "lambeth_bots" / "__init__.py").exists()
    for folder in ("config/bots", "sample-data", "tests/unit", "tests/integration"):
        assert (repo / folder).is_dir(), folder
    assert "council: Lambeth" in (repo / "config" / "borough.yaml").read_text()
    readme = (repo / "README.md").read_text()
    assert "borough new bot NAME --kind files|web|desktop" in readme and "./ci" in readme
    assert os.access(repo / "ci", os.X_OK)
    assert "var/" in (repo / ".gitignore").read_text()


def test_init_refuses_a_folder_in_use_and_names_borough_needs(tmp_path: Path):
    runner = CliRunner()
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    used = runner.invoke(app, ["init", str(tmp_path / "used")])
    assert used.exit_code == 3 and "is not empty" in used.output
    assert (tmp_path / "used" / "notes.txt").read_text() == "mine"
    for taken in ("connectors", "borough", "Bad-Name"):
        bad = runner.invoke(app, ["init", str(tmp_path / "x"), "--package", taken])
        assert bad.exit_code == 2, bad.output
        assert not (tmp_path / "x").exists()


def test_new_bot_refuses_bad_names_kinds_and_existing_files(tmp_path: Path):
    repo = init(tmp_path)
    runner = CliRunner()
    bad = runner.invoke(app, ["new", "bot", "Blue_Badge", "--home", str(repo)])
    assert bad.exit_code == 2 and "lower-case words joined by '-'" in bad.output
    kind = runner.invoke(app, ["new", "bot", "x-y", "--kind", "mainframe", "--home", str(repo)])
    assert kind.exit_code == 2 and "files, web, desktop" in kind.output
    assert runner.invoke(app, ["new", "bot", "x-y", "--home", str(repo)]).exit_code == 0
    again = runner.invoke(app, ["new", "bot", "x-y", "--kind", "web", "--home", str(repo)])
    assert again.exit_code == 3 and "not overwriting existing file" in again.output
    assert (repo / "lambeth_bots" / "x_y.py").exists()
    assert (repo / "config" / "bots" / "x-y.yaml").read_text().startswith("bot: x-y\n")
    assert "entry: lambeth_bots.x_y:XY" in (repo / "config" / "bots" / "x-y.yaml").read_text()


def test_the_councils_package_is_imported_before_an_installed_one(tmp_path: Path, monkeypatch):
    """An installed package of the same name (imported first, even) never hides the
    council's bots: `borough run` imports them from the repository."""
    installed, repo = tmp_path / "site", tmp_path / "repo"
    for root, value in ((installed, "installed"), (repo, "council")):
        (root / "civic").mkdir(parents=True)
        (root / "civic" / "__init__.py").write_text(f"WHO = {value!r}\n")
    (repo / "civic" / "bot.py").write_text("from civic import WHO\n")
    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.setattr(sys, "path", list(sys.path))
    import civic

    assert civic.WHO == "installed"
    try:
        council_first(repo, "civic.bot:Bot")
        import civic.bot

        assert civic.bot.WHO == "council"
    finally:
        for name in [m for m in sys.modules if m == "civic" or m.startswith("civic.")]:
            del sys.modules[name]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_every_kinds_unit_tests_pass_as_generated_in_memory(tmp_path: Path):
    repo = init(tmp_path, *KINDS)
    result = python(
        repo, "pytest", "-q", "-p", "no:cacheprovider", "tests/unit", env=clean_env(repo)
    )
    assert "9 passed" in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_the_scaffolds_and_a_bot_written_from_the_docs_pass_mypy_strict(tmp_path: Path):
    repo = init(tmp_path, *KINDS)
    written = DOCS_BOT.read_text()
    assert len(written.splitlines()) < 60
    shutil.copy(DOCS_BOT, repo / "lambeth_bots" / DOCS_BOT.name)
    for module in (repo / "lambeth_bots").glob("*.py"):
        text = module.read_text()
        assert "type: ignore" not in text and "cast(" not in text and "assert " not in text
    env = {**clean_env(repo), "MYPYPATH": str(ROOT)}  # borough is installed editable here
    result = python(repo, "mypy", "--cache-dir", str(tmp_path / "mypy-cache"), env=env)
    assert "Success: no issues found" in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_files_bot_runs_from_its_repository_without_pythonpath(tmp_path: Path):
    repo = init(tmp_path, "files")
    env = clean_env(repo)
    # from another folder: BOROUGH_HOME says where the repository is
    python(tmp_path, "borough", "config", "check", env=env)
    run = python(tmp_path, "borough", "run", "files-bot", "-q", env=env, expect=1)
    assert "Amount: Input should be a valid decimal" in run.stdout  # the bad sample row
    python(repo, "pytest", "-q", "-p", "no:cacheprovider", env=env)


@pytest.mark.slow
@pytest.mark.xvfb
@pytest.mark.timeout(240)
def test_a_desktop_bot_keys_the_sandbox_client_as_generated(tmp_path: Path):
    for tool, package in (("Xvfb", "xvfb"), ("xclip", "xclip"), ("openbox", "openbox")):
        require(shutil.which(tool) is not None, tool, f"apt-get install {package}")
    repo = init(tmp_path, "desktop")
    env = {k: v for k, v in clean_env(repo).items() if k != "DISPLAY"}
    python(repo, "pytest", "-q", "-p", "no:cacheprovider", "tests/integration", env=env)
