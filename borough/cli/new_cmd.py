"""``borough new bot NAME --kind files|web|desktop``: a working bot, its config, sample
data, a fast unit test and an integration test against the bundled sandbox app."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from borough.cli._common import console, errors_reported, fail, noun_app, usage

app = noun_app("new")


@app.command("bot")
def new_bot(
    name: Annotated[
        str, typer.Argument(help="lower-case words joined by '-', e.g. blue-badge-renewals")
    ],
    kind: Annotated[
        str,
        typer.Option(
            help="what the bot drives: files (an import workbook), web (a web app, here the "
            "bundled Caseflow sandbox) or desktop (a desktop client, here the sandbox one)"
        ),
    ] = "files",
    description: Annotated[str, typer.Option(help="one line saying what the bot moves")] = "",
    home: Annotated[
        Path, typer.Option(help="the bots repository (`borough init`)", envvar="BOROUGH_HOME")
    ] = Path("."),
) -> None:
    """Create the bot in the repository's package, its config, sample data and tests."""
    from borough.scaffold import BOT_NAME, KINDS, NewBot, render

    if not BOT_NAME.match(name):
        usage(f"bot name {name!r}: use lower-case words joined by '-' (e.g. blue-badge-renewals)")
    if kind not in KINDS:
        usage(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    home = home.resolve()
    apps = home / "config" / "apps.yaml"
    if not apps.exists():
        fail(f"{apps} not found: run this in a bots repository (`borough init PATH`), or --home")
    with errors_reported():
        bot = NewBot(home, name, kind, description)
        targets = bot.files()
        values = bot.values()
    existing = [str(p) for p in targets if p.exists()]
    if existing:
        fail(f"not overwriting existing file(s): {', '.join(existing)}")
    if re.search(rf"^\s+{re.escape(bot.app)}:", apps.read_text("utf-8"), re.MULTILINE):
        fail(f"{apps} already has an app named {bot.app}")
    with errors_reported():  # every file rendered before any is written
        contents = {target: render(template, values) for target, template in targets.items()}
        apps_text = with_app(apps.read_text("utf-8"), bot.app_block())
    for target, content in contents.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        console.print(f"created {target.relative_to(home)}")
    apps.write_text(apps_text, encoding="utf-8")
    for target, source in bot.copies().items():
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            console.print(f"created {target.relative_to(home)}")
    package = home / bot.package / "__init__.py"
    if not package.exists():
        package.write_text(f'"""{bot.package}: the council\'s own bots."""\n', encoding="utf-8")
    console.print(f"added app {bot.app} to {apps.relative_to(home)}")
    console.print(
        f"\nNext: `pytest tests/unit/test_{bot.module}.py` (milliseconds), "
        f"`borough run {name} --dry-run`, then `borough run {name}`."
    )


def with_app(text: str, block: str) -> str:
    """apps.yaml with ``block`` (an indented app entry) added under ``apps:``."""
    empty = re.compile(r"^apps:[ \t]*(\{\s*\})?[ \t]*(#.*)?$", re.MULTILINE)
    if empty.search(text):
        text = empty.sub("apps:", text, count=1)
    elif not re.search(r"^apps:", text, re.MULTILINE):
        text = text.rstrip("\n") + "\napps:\n"
    return text.rstrip("\n") + "\n" + block
