"""``borough dashboard`` (serve the web UI) and ``borough dashboard users ...`` (accounts)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from borough.cli._common import (
    console,
    err_console,
    fail,
    is_interactive,
    local,
    opened_runtime,
    usage,
)

if TYPE_CHECKING:
    from borough.dashboard.schedules import ScheduleControl
    from borough.dashboard.state import Dashboard
    from borough.runtime import Runtime

app = typer.Typer(
    help="The web dashboard for operators and auditors, and its accounts.",
    invoke_without_command=True,
)
users_app = typer.Typer(
    help="Dashboard accounts: add, list, disable, enable, passwd, roles.", no_args_is_help=True
)
app.add_typer(users_app, name="users")

RoleOption = Annotated[
    list[str] | None,
    typer.Option("--role", "-r", help="operator, auditor or admin (repeat for several)"),
]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="read the password from the first line of stdin"),
]


@app.callback()
def dashboard(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on", min=1, max=65535)] = None,
) -> None:
    """Serve the dashboard (default 127.0.0.1:8470, see ``dashboard:`` in borough.yaml)."""
    if ctx.invoked_subcommand is not None:
        return
    from borough.dashboard.app import create_app
    from borough.dashboard.serve import is_loopback, run_until_stopped, server
    from borough.dashboard.state import Dashboard

    with opened_runtime(console_level="INFO") as runtime:
        settings = runtime.config.settings.dashboard
        host = host or settings.host
        port = port or settings.port
        dash = Dashboard.open(runtime, schedules=_schedule_control(runtime))
        web = create_app(dash)  # borough errors become one clear line (opened_runtime)
        if not dash.users.list():
            err_console.print(
                "No dashboard accounts yet: create the first administrator with\n"
                "  borough dashboard users add NAME --role admin"
            )
        if not is_loopback(host) and not settings.secure_cookies:
            err_console.print(
                f"[yellow]warning:[/] listening on {host} without HTTPS: put a TLS proxy in "
                f"front and set dashboard.secure_cookies: true"
            )
        console.print(f"borough dashboard on http://{host}:{port}/ (Ctrl+C to stop)")
        run_until_stopped(server(web, host, port))
        console.print("borough dashboard stopped")


def _schedule_control(runtime: Runtime) -> ScheduleControl | None:
    """The scheduler's operator API for the schedule pages; without it they say why."""
    from borough.errors import BoroughError

    try:
        from borough.cli._schedule_control import SchedulerControl

        return SchedulerControl(runtime)
    except ImportError as exc:
        reason = f"the scheduler is not installed ({exc}): pip install 'borough[scheduler]'"
    except BoroughError as exc:
        reason = str(exc)
    err_console.print(f"[yellow]warning:[/] schedule pages are off: {escape(reason)}")
    return None


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
def list_users() -> None:
    """Every account, its roles and whether it is enabled."""
    with _dashboard() as dash:
        users = dash.users.list()
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
