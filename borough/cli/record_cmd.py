"""``borough record web APP``: record a person using a web app; write a draft recipe."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from borough.cli._common import console, errors_reported, fail, flag, noun_app, opened_runtime

app = noun_app("record")


@app.command("web")
def record_web(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="a kind: web app of apps.yaml")],
    bot: Annotated[
        str, typer.Option(metavar="NAME", help="the new recipe bot's name")
    ] = "recorded",
    headless: Annotated[
        bool, flag("--headless", help="no visible window (for scripted recordings)")
    ] = False,
) -> None:
    """Open APP signed in, in a browser window on this display; record what you click and
    type until you close the window; write `config/bots/NAME.yaml`, a draft recipe.

    Typed values become row placeholders with a suggested column; no value is written
    down. Then mark the step that saves (`save:`), add `find_existing:` steps and run
    `borough config check` (docs/recipes.md).
    """
    from borough import filemodes
    from borough.recipes.recorder import recording_session

    with opened_runtime() as runtime, errors_reported():
        file = runtime.config.bot_config_file(bot)
        if file.exists():
            fail(f"{file} exists; choose another name with --bot NAME")
        with recording_session(runtime, app_name, headless=headless) as (page, recording):
            console.print(
                f"Recording {escape(app_name)}: use the app in the browser window, then close "
                "the window (or press Ctrl+C) to write the draft."
            )
            try:
                while not page.is_closed():
                    page.wait_for_timeout(250)
            except KeyboardInterrupt:
                pass
        filemodes.make_folder(file.parent)
        filemodes.write_private(file, recording.draft(bot).encode("utf-8"))
    console.print(
        f"wrote {escape(str(file))} ({len(recording.actions)} steps): mark its save step, add "
        "find_existing, then `borough config check`"
    )
