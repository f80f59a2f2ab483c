"""``borough worker``: the old name of ``borough serve worker``, kept for one release."""

from __future__ import annotations

from typing import Annotated

import typer

from borough.cli import serve_cmd
from borough.cli._common import deprecated, flag, verb_app

app = verb_app()


@app.command("worker")
def worker(
    queues: Annotated[list[str] | None, typer.Option("--queue", "-q", metavar="QUEUE")] = None,
    concurrency: Annotated[int, typer.Option(metavar="N", min=1)] = 1,
    once: Annotated[bool, flag("--once", help="run what is queued now, then exit")] = False,
) -> None:
    """Deprecated: `borough serve worker`."""
    deprecated("worker", "serve worker")
    serve_cmd.serve_worker(queues=queues, concurrency=concurrency, once=once)
