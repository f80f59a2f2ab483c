"""``borough secrets set|list|delete``: values are typed or piped, never given as arguments."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from borough.cli._common import console, fail, flag, noun_app, opened_runtime, usage
from borough.cli._json import JsonFlag, emit

app = noun_app("secrets")


@app.command("set")
def set_secret(
    name: Annotated[str, typer.Argument(help="e.g. casework-login")],
    stdin: Annotated[
        bool, flag("--stdin", help="read the value from standard input (scripts)")
    ] = False,
) -> None:
    """Store a secret; you are asked for the value (hidden), or it is read with --stdin."""
    if stdin:
        value = sys.stdin.read().rstrip("\n")
    elif sys.stdin.isatty():
        value = typer.prompt(f"value for {name}", hide_input=True, confirmation_prompt=True)
    else:
        usage("no terminal to ask for the value: pipe it in with --stdin")
    with opened_runtime(console_level=None) as runtime:
        runtime.secrets.set(name, value)
        runtime.trail.emit("secret.set", target=name, detail={"secret": name})
    console.print(f"secret {name!r} stored (encrypted)")


@app.command("list")
def list_secrets(as_json: JsonFlag = False) -> None:
    """Names of stored secrets; values are never shown."""
    with opened_runtime(console_level=None) as runtime:
        names = [n for n in runtime.secrets.names() if not n.startswith("borough.")]
    if as_json:
        emit(names)
        return
    if not names:
        console.print("No secrets stored. Add one with `borough secrets set NAME`.")
    for name in names:
        console.print(name)


@app.command("delete")
def delete_secret(name: Annotated[str, typer.Argument()]) -> None:
    """Remove a secret."""
    if name.startswith("borough."):
        fail(f"{name!r} holds borough's own keys (audit signatures, tokens); it cannot be deleted")
    with opened_runtime(console_level=None) as runtime:
        runtime.secrets.delete(name)
        runtime.trail.emit("secret.deleted", target=name, detail={"secret": name})
    console.print(f"secret {name!r} deleted")
