"""``borough new bot NAME``: scaffold a working bot, its config, sample data and a test."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template
from typing import Annotated

import typer

from borough.cli._common import console, fail, noun_app, usage

app = noun_app("new")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "newbot"
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@app.command("bot")
def new_bot(
    name: Annotated[
        str, typer.Argument(help="lower-case words joined by '-', e.g. blue-badge-renewals")
    ],
    description: Annotated[str, typer.Option(help="one line saying what the bot moves")] = "",
    home: Annotated[Path, typer.Option(help="the borough folder", envvar="BOROUGH_HOME")] = Path(
        "."
    ),
) -> None:
    """Create bots/<name>.py, config/bots/<name>.yaml, sample data, a test, and a target app."""
    if not NAME.match(name):
        usage(f"bot name {name!r}: use lower-case words joined by '-' (e.g. blue-badge-renewals)")
    home = home.resolve()
    module = name.replace("-", "_")
    values = {
        "name": name,
        "module": module,
        "class_name": "".join(part.capitalize() for part in name.split("-")),
        "title": name.replace("-", " ").capitalize(),
        "description": description
        or f"moves {name.replace('-', ' ')} rows into the import workbook",
        "prefix": "".join(part[0] for part in name.split("-")).upper(),
    }
    targets = {
        home / "bots" / f"{module}.py": "bot.py.tmpl",
        home / "config" / "bots" / f"{name}.yaml": "config.yaml.tmpl",
        home / "sample-data" / f"{name}.csv": "sample.csv.tmpl",
        home / "tests" / "unit" / "bots" / f"test_{module}.py": "test.py.tmpl",
    }
    existing = [str(p) for p in targets if p.exists()]
    if existing:
        fail(f"not overwriting existing file(s): {', '.join(existing)}")
    apps = home / "config" / "apps.yaml"
    if not apps.exists():
        fail(f"{apps} not found: run this in the borough folder (or pass --home)")
    if re.search(rf"^\s+{re.escape(name)}-target:", apps.read_text("utf-8"), re.MULTILINE):
        fail(f"{apps} already has an app named {name}-target")
    for target, template in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            Template((TEMPLATES / template).read_text("utf-8")).substitute(values), encoding="utf-8"
        )
        console.print(f"created {target.relative_to(home)}")
    with apps.open("a", encoding="utf-8") as handle:
        handle.write(Template((TEMPLATES / "app.yaml.tmpl").read_text("utf-8")).substitute(values))
    console.print(f"added app {name}-target to {apps.relative_to(home)}")
    console.print(
        f"\nNext: `borough run {name} --dry-run`, then `borough run {name}`; "
        f"test with `pytest tests/unit/bots/test_{module}.py`."
    )
