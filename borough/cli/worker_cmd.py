"""``borough worker``: run scheduled runs from PostgreSQL queues (scale-out)."""

from __future__ import annotations

from typing import Annotated

import typer

from borough.cli._common import console, errors_reported, opened_runtime


def worker(
    queues: Annotated[
        list[str] | None,
        typer.Option(
            "--queue", "-q", help="a queue this machine serves, e.g. app:revenues or host:runner-2"
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="runs at once on this machine")] = 1,
    once: Annotated[bool, typer.Option("--once", help="run what is queued now, then exit")] = False,
) -> None:
    """Run deferred runs (scheduler.dispatch: procrastinate), each in its own process.

    Licence seats are procrastinate locks, so no two workers ever share a seat. Stop with
    Ctrl+C or SIGTERM: runs in progress are finished first.
    """
    from borough import logconfig
    from scheduler import LIBRARY_LOGGERS
    from scheduler.worker import run_worker

    with opened_runtime(actor="worker", console_level="INFO") as runtime, errors_reported():
        logconfig.route_stdlib(LIBRARY_LOGGERS)
        served = ", ".join(queues) if queues else "all queues"
        console.print(f"Worker serving {served} (concurrency {concurrency}).")
        run_worker(runtime, queues=queues, concurrency=concurrency, once=once)
