"""``borough init PATH``: a council's own bots repository, ready for ``borough new bot``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from borough.cli._common import console, fail, usage, verb_app

app = verb_app()


@app.command("init")
def init(
    path: Annotated[Path, typer.Argument(help="the folder to create (or an empty one)")],
    package: Annotated[
        str | None,
        typer.Option(help="the Python package of your bots (default: from the folder name)"),
    ] = None,
    council: Annotated[str, typer.Option(help="the council's name")] = "Example Borough Council",
) -> None:
    """Create a bots repository: pyproject, config/, your bots package, tests/, README, CI."""
    from borough.scaffold import check_package_name, init_files, package_from_folder

    path = path.resolve()
    if path.exists() and not path.is_dir():
        usage(f"{path} is a file, not a folder")
    if path.exists() and any(path.iterdir()):
        fail(f"{path} is not empty: `borough init` only fills a new or empty folder")
    package = package or package_from_folder(path)
    problem = check_package_name(package)
    if problem:
        usage(f"--package: {problem}")
    files = init_files(path, package, council)
    for target, content in files.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        console.print(f"created {target.relative_to(path)}")
    (path / "ci").chmod(0o755)
    console.print(
        f"\nNext: cd {path.name} && borough new bot NAME --kind files|web|desktop, then ./ci"
    )
