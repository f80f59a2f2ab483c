"""``borough secrets set|list|delete``: values are typed or piped, never given as arguments."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from borough.secrets import SecretStore

from borough.cli._common import console, errors_reported, fail, usage

app = typer.Typer(
    help="Manage the encrypted secret store (credentials for legacy apps).", no_args_is_help=True
)


def _store() -> SecretStore:
    from borough.config import load_config
    from borough.secrets import open_store

    config = load_config()
    return open_store(config.secrets_file, passphrase_env=config.settings.secrets.passphrase_env)


def _audit(action: str, name: str) -> None:
    """Secret changes are audited by name (never value)."""
    from borough import logconfig
    from borough.runtime import open_runtime

    runtime = open_runtime()
    try:
        logconfig.configure(runtime, console_level=None)
        runtime.trail.emit(action, target=name, detail={"secret": name})
    finally:
        logconfig.reset()
        runtime.close()


@app.command("set")
def set_secret(
    name: Annotated[str, typer.Argument(help="e.g. casework-login")],
    stdin: Annotated[
        bool, typer.Option("--stdin", help="read the value from standard input (scripts)")
    ] = False,
) -> None:
    """Store a secret; you are asked for the value (hidden), or it is read with --stdin."""
    if stdin:
        value = sys.stdin.read().rstrip("\n")
    elif sys.stdin.isatty():
        value = typer.prompt(f"value for {name}", hide_input=True, confirmation_prompt=True)
    else:
        usage("no terminal to ask for the value: pipe it in with --stdin")
    with errors_reported():
        _store().set(name, value)
        _audit("secret.set", name)
    console.print(f"secret {name!r} stored (encrypted)")


@app.command("list")
def list_secrets() -> None:
    """Names of stored secrets; values are never shown."""
    with errors_reported():
        names = [n for n in _store().names() if not n.startswith("borough.")]
    if not names:
        console.print("No secrets stored. Add one with `borough secrets set NAME`.")
    for name in names:
        console.print(name)


@app.command("delete")
def delete_secret(name: Annotated[str, typer.Argument()]) -> None:
    """Remove a secret."""
    if name.startswith("borough."):
        fail(f"{name!r} holds borough's own keys (audit signatures, tokens); it cannot be deleted")
    with errors_reported():
        _store().delete(name)
        _audit("secret.deleted", name)
    console.print(f"secret {name!r} deleted")
