"""A council's own bots repository, outside this one, as a new user makes it: the built
wheel installed in a fresh virtualenv, `borough init`, `borough new bot x --kind web`, its
tests green, `mypy --strict` clean, and `borough run x` against the Caseflow sandbox.

Only package registries are reachable here, so the fresh virtualenv gets borough's wheel
(``--no-deps``) and sees the project's own virtualenv's site-packages for the
dependencies (a ``.pth`` line: its editable borough is not activated by it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.web import read_counts
from tests.support.web import require_chromium

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Sandbox-Only-Pw-1"

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(300)]  # 70 s loaded


def check(args: list[str], cwd: Path, env: dict[str, str], expect: int = 0, **kw: object) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300, **kw
    )
    output = f"$ {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    assert done.returncode == expect, output
    return done.stdout


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv holding borough's built wheel (and nothing of this checkout)."""
    root = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BOROUGH_HOME")}
    check(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), "."],
        ROOT,
        env,
    )
    (wheel,) = (root / "dist").glob("borough-*.whl")
    venv = root / "venv"
    check([sys.executable, "-m", "venv", "--without-pip", str(venv)], root, env)
    python = venv / "bin" / "python"
    purelib = check(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        root,
        env,
    ).strip()
    # the dependencies: the project's own site-packages, after the fresh one
    Path(purelib, "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    check(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", str(wheel)],
        root,
        env,
    )
    yield python


def test_a_council_repository_from_an_empty_folder(tmp_path: Path, fresh_python: Path):
    require_chromium()
    bin_dir = fresh_python.parent
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BOROUGH_HOME")},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "BOROUGH_SECRETS_PASSPHRASE": "council-test-passphrase",
    }
    work = tmp_path / "empty"
    work.mkdir()
    borough = str(bin_dir / "borough")
    where = "import borough; print(borough.__file__)"
    imported = check([str(fresh_python), "-c", where], work, env)
    assert str(ROOT) not in imported  # the wheel, not this checkout

    check([borough, "init", "lambeth-bots", "--council", "Lambeth"], work, env)
    repo = work / "lambeth-bots"
    assert 'package = "lambeth_bots"' in (repo / "pyproject.toml").read_text()
    check([borough, "new", "bot", "x", "--kind", "web"], repo, env)
    assert (repo / "lambeth_bots" / "x.py").exists()

    # its own tests (the unit ones in memory, the integration one against Caseflow), then
    # strict typing: what its ./ci runs
    tests = check([str(fresh_python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], repo, env)
    assert re.search(r"\b5 passed\b", tests), tests
    typed = check([str(fresh_python), "-m", "mypy"], repo, env)
    assert "Success: no issues found" in typed

    # and borough run x from the repository, against a sandbox started from the wheel
    sandbox = subprocess.Popen(
        [str(fresh_python), "-m", "sandbox.web", "--store", str(tmp_path / "cf.sqlite")],
        cwd=work,
        env={**env, "CASEFLOW_USERS": f'{{"bot.casework": "{PASSWORD}"}}'},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        url = sandbox.stdout.readline().split()[-1]
        apps = repo / "config" / "apps.yaml"
        apps.write_text(apps.read_text().replace("http://127.0.0.1:8080", url))
        check(
            [borough, "secrets", "set", "x-login", "--stdin"],
            repo,
            env,
            input=f"bot.casework:{PASSWORD}\n",
        )
        ran = check([borough, "run", "x"], repo, env, expect=1)  # one sample row is bad
        assert "NI Number" in ran
        again = check([borough, "run", "x", "-q"], repo, env)
        assert "SUCCEEDED" in again
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
        if sandbox.stdout is not None:
            sandbox.stdout.close()
    assert read_counts(tmp_path / "cf.sqlite")["cases"] == 2
