"""``borough dashboard users ...``: the first admin can be created headless."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from borough.cli import app
from borough.dashboard.state import Dashboard
from borough.testing import runtime_in

runner = CliRunner()


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def test_users_add_list_disable_passwd(home: Path, cli_env):
    added = invoke(
        "dashboard",
        "users",
        "add",
        "chief",
        "--role",
        "admin",
        "--role",
        "auditor",
        "--password-stdin",
        input="first long password\n",
    )
    assert added.exit_code == 0, added.output
    assert "account chief added (admin, auditor)" in added.output
    assert "first long password" not in added.output
    assert (
        invoke(
            "dashboard",
            "users",
            "add",
            "deputy",
            "-r",
            "operator",
            "--password-stdin",
            input="second long password\n",
        ).exit_code
        == 0
    )
    listing = invoke("dashboard", "users", "list")
    assert "chief" in listing.output and "admin, auditor" in listing.output
    assert "deputy" in listing.output and "operator" in listing.output
    refused = invoke("dashboard", "users", "disable", "chief")
    assert refused.exit_code == 3 and "leave no administrator" in refused.output
    assert invoke("dashboard", "users", "disable", "deputy").exit_code == 0
    changed = invoke(
        "dashboard", "users", "passwd", "chief", "--password-stdin", input="a changed password\n"
    )
    assert changed.exit_code == 0
    with runtime_in(home) as runtime:
        users = Dashboard.open(runtime).users
        assert users.authenticate("deputy", "second long password") is None  # disabled
        assert users.authenticate("chief", "a changed password") is not None
        assert users.authenticate("chief", "first long password") is None
    audit = (home / "logs/audit/audit.jsonl").read_text("utf-8")
    for action in (
        "dashboard.user_added",
        "dashboard.user_disabled",
        "dashboard.user_password_reset",
    ):
        assert f'"{action}"' in audit
    assert "long password" not in audit and "changed password" not in audit


def test_users_add_refuses_bad_input_clearly(home: Path, cli_env):
    no_role = invoke(
        "dashboard", "users", "add", "x1", "--password-stdin", input="long enough pw\n"
    )
    assert no_role.exit_code == 2 and "give at least one --role" in no_role.output
    short = invoke(
        "dashboard", "users", "add", "x1", "-r", "operator", "--password-stdin", input="short\n"
    )
    assert short.exit_code == 3 and "at least 12 characters" in short.output
    piped = invoke("dashboard", "users", "add", "x1", "-r", "operator")
    assert piped.exit_code == 2 and "--password-stdin" in piped.output


def test_dashboard_help_lists_its_commands_and_says_how_to_serve_it(home: Path, cli_env):
    result = invoke("dashboard", "--help")
    assert result.exit_code == 0
    assert "users" in result.output and "borough serve dashboard" in result.output
    served = invoke("serve", "dashboard", "--help")
    for word in ("--host", "--port", "default 127.0.0.1:8470"):
        assert word in served.output
