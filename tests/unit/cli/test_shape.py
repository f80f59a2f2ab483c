"""The CLI's shape: one noun per concept, one `serve` for the services, old names kept for
one release with a note, one time-range syntax, one meaning of --limit, clean help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from borough.cli import app
from borough.cli._commands import ENTRIES
from tests.support.installs import counting_home, people

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "100"})


def every_command() -> list[list[str]]:
    """The command line of every command and group, hidden ones included."""
    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    root = typer.main.get_command(app)
    for entry in ENTRIES:
        walk(root.get_command(None, entry.name), [entry.name])
    return found


def test_the_top_level_lists_verbs_and_nouns_not_the_old_names():
    output = invoke("--help").output
    for name in ("run", "demo", "serve", "runs", "items", "schedules", "audit", "dashboard"):
        assert f" {name} " in output
    assert " scheduler " not in output and " worker " not in output
    assert "Exit codes:" in output


def test_every_help_renders_without_doc_markup():
    for path in every_command():
        result = invoke(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "``" not in result.output, path  # reStructuredText markup left in
        assert "<list[str]>" not in result.output, path  # a value option without a metavar


def test_the_services_share_one_shape():
    output = invoke("serve", "--help").output
    for service in ("scheduler", "dashboard", "worker"):
        assert f" {service} " in output
        assert invoke("serve", service, "--help").exit_code == 0


def test_old_service_names_still_work_for_a_release_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
):
    from borough.cli import serve_cmd

    calls: list[tuple[str, dict[str, Any]]] = []
    for name in ("serve_scheduler", "serve_dashboard", "serve_worker"):
        monkeypatch.setattr(serve_cmd, name, lambda _n=name, **kw: calls.append((_n, kw)))
    assert invoke("scheduler", "start", "--standby").exit_code == 0
    assert invoke("dashboard", "--port", "8999").exit_code == 0
    assert invoke("worker", "--once", "-q", "app:x").exit_code == 0
    assert calls == [
        ("serve_scheduler", {"standby": True, "minutes": None, "leave_runs": False}),
        ("serve_dashboard", {"host": None, "port": 8999}),
        ("serve_worker", {"queues": ["app:x"], "concurrency": 1, "once": True}),
    ]
    note = invoke("scheduler", "start").output
    assert "`borough scheduler start` is deprecated" in note
    assert "use `borough serve scheduler`" in note


def test_limit_means_rows_shown_and_the_old_run_limit_still_works(tmp_path: Path, monkeypatch):
    from borough.testing import home_env

    home = counting_home(tmp_path, people(6))
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    old = invoke("run", "counting-bot", "-q", "--limit", "2")
    assert "`borough run --limit` is deprecated" in old.output
    assert "use `borough run --max-items`" in old.output
    assert invoke("run", "counting-bot", "-q", "--max-items", "2").exit_code in (0, 1)
    assert rows(invoke("items", "list").output) == 6
    assert rows(invoke("items", "list", "--limit", "3").output) == 3
    assert rows(invoke("runs", "list", "--limit", "1").output) == 1


def rows(table: str) -> int:
    """Data rows of a Rich table (lines whose first cell is filled)."""
    return sum(1 for line in table.splitlines() if re.match(r"^│\s*[^\s│]", line))


def test_one_time_range_syntax(tmp_path: Path, monkeypatch):
    from borough.testing import home_env

    home = counting_home(tmp_path, people(2))
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    assert invoke("run", "counting-bot", "-q").exit_code in (0, 1)
    assert "counting-bot" in invoke("runs", "list", "--since", "1h").output
    assert "No runs match." in invoke("runs", "list", "--until", "1h").output
    assert (
        "No runs match." in invoke("runs", "list", "--since", "2000-01-01", "--until", "1d").output
    )
    fresh = invoke("audit", "export", "--format", "jsonl", "--since", "1h", "--until", "2999-01-01")
    assert '"action": "run.start"' in fresh.output.replace('":"', '": "')
    none = invoke("audit", "export", "--format", "jsonl", "--until", "2000-01-01")
    assert none.exit_code == 0 and "run.start" not in none.output
    old = invoke("audit", "export", "--format", "jsonl", "--from", "1h")
    assert "run.start" in old.output and "is deprecated" in old.output
    bad = invoke("runs", "list", "--since", "yesterday")
    assert bad.exit_code == 2 and "use 2026-11-23, 2026-11-23T09:00, 24h or 7d" in bad.output


def test_help_imports_no_command_module():
    code = (
        "import sys; from borough.cli import main; sys.argv = ['borough', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m.endswith('_cmd') or m.startswith("
        "('pydantic', 'sqlalchemy', 'loguru', 'borough.runtime')))\n"
        "print('LOADED', loaded, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED []" in out.stderr, out.stderr
