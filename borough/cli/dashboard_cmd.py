"""``borough dashboard users ...``: the accounts (``borough serve dashboard`` serves it)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from borough.cli._common import (
    CONTEXT,
    MARKUP,
    console,
    deprecated,
    fail,
    flag,
    is_interactive,
    local,
    noun_app,
    opened_runtime,
    usage,
)
from borough.cli._json import JsonFlag, emit

if TYPE_CHECKING:
    from borough.dashboard.state import Dashboard

app = noun_app(
    "dashboard",
    invoke_without_command=True,
    no_args_is_help=False,
)
users_app = typer.Typer(
    help="Dashboard accounts: add, list, disable, enable, passwd, roles.",
    rich_markup_mode=MARKUP,
    context_settings=CONTEXT,
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(users_app, name="users")

RoleOption = Annotated[
    list[str] | None,
    typer.Option(
        "--role", "-r", metavar="ROLE", help="operator, auditor or admin (repeat for several)"
    ),
]
PasswordStdin = Annotated[
    bool,
    flag("--password-stdin", help="read the password from the first line of stdin"),
]


@app.callback()
def dashboard(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(hidden=True)] = None,
    port: Annotated[int | None, typer.Option(hidden=True, min=1, max=65535)] = None,
) -> None:
    """Dashboard accounts (`borough dashboard users ...`); `borough serve dashboard` serves it.

    Bare `borough dashboard` still serves it for one release (deprecated).
    """
    if ctx.invoked_subcommand is not None:
        return
    from borough.cli.serve_cmd import serve_dashboard

    deprecated("dashboard", "serve dashboard")
    serve_dashboard(host=host, port=port)


@contextmanager
def _dashboard() -> Iterator[Dashboard]:
    from borough.dashboard.state import Dashboard

    with opened_runtime() as runtime:
        yield Dashboard.open(runtime)


def _password(stdin: bool) -> str:
    if stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            usage("no password on stdin")
        return line
    if not is_interactive():
        usage("give the password with --password-stdin (never on the command line)")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="account name, e.g. a.khan")],
    role: RoleOption = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an account (the first one should have --role admin)."""
    if not role:
        usage("give at least one --role (operator, auditor, admin)")
    password = _password(password_stdin)
    with _dashboard() as dash:
        user = dash.users.add(name.strip().lower(), password, role)
        dash.runtime.trail.emit(
            "dashboard.user_added", target=user.actor, detail={"roles": user.role_names}
        )
    console.print(f"account {user.name} added ({', '.join(user.role_names)})")


@users_app.command("list")
def list_users(as_json: JsonFlag = False) -> None:
    """Every account, its roles and whether it is enabled."""
    with _dashboard() as dash:
        users = dash.users.list()
    if as_json:
        emit(
            [
                {
                    "name": user.name,
                    "roles": list(user.role_names),
                    "disabled": user.disabled,
                    "created_at": user.created_at,
                    "last_login_at": user.last_login_at,
                }
                for user in users
            ]
        )
        return
    if not users:
        console.print(
            "No dashboard accounts. Add one: borough dashboard users add NAME --role admin"
        )
        return
    table = Table(title="Dashboard accounts", title_justify="left")
    for column in ("name", "roles", "status", "last sign-in (UK)"):
        table.add_column(column)
    for user in users:
        status = "[red]disabled[/]" if user.disabled else "[green]active[/]"
        table.add_row(user.name, ", ".join(user.role_names), status, local(user.last_login_at))
    console.print(table)


def _set_disabled(name: str, disabled: bool) -> None:
    from borough.dashboard.store import Role

    with _dashboard() as dash:
        current = dash.users.require(name)
        last_admin = current.has(Role.ADMIN) and dash.users.count_active_admins() <= 1
        if disabled and not current.disabled and last_admin:
            fail("that would leave no administrator: add another first")
        user = dash.users.set_disabled(name, disabled)
        ended = dash.sessions.end_all(user) if disabled else 0
        dash.runtime.trail.emit(
            "dashboard.user_disabled" if disabled else "dashboard.user_enabled", target=user.actor
        )
    what = f"disabled ({ended} session(s) ended)" if disabled else "enabled"
    console.print(f"account {name} {what}")


@users_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="account name")]) -> None:
    """Stop an account signing in, and end its sessions."""
    _set_disabled(name, True)


@users_app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="account name")]) -> None:
    """Let a disabled account sign in again."""
    _set_disabled(name, False)


@users_app.command("passwd")
def passwd(
    name: Annotated[str, typer.Argument(help="account name")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set an account's password; its sessions end."""
    password = _password(password_stdin)
    with _dashboard() as dash:
        user = dash.users.set_password(name, password)
        dash.sessions.end_all(user)
        dash.runtime.trail.emit("dashboard.user_password_reset", target=user.actor)
    console.print(f"password of {name} changed")


@users_app.command("roles")
def roles(
    name: Annotated[str, typer.Argument(help="account name")],
    role: RoleOption = None,
) -> None:
    """Replace an account's roles."""
    from borough.dashboard.store import Role

    if not role:
        usage("give at least one --role (operator, auditor, admin)")
    with _dashboard() as dash:
        current = dash.users.require(name)
        losing_admin = current.has(Role.ADMIN) and Role.ADMIN.value not in role
        if losing_admin and not current.disabled and dash.users.count_active_admins() <= 1:
            fail("that would leave no administrator: add another first")
        user = dash.users.set_roles(name, role)
        dash.runtime.trail.emit(
            "dashboard.user_roles_changed", target=user.actor, detail={"roles": user.role_names}
        )
    console.print(f"account {name} now has roles {', '.join(user.role_names)}")
