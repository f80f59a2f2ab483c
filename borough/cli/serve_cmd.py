"""``borough serve scheduler|dashboard|worker``: the long-running services, one shape.

Each runs in the foreground until Ctrl+C or SIGTERM (systemd stop), logs to
``logs/borough.log``, and stops cleanly. The older ``borough scheduler start``,
``borough dashboard`` and ``borough worker`` still work for one release, with a note.
"""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from borough.cli._common import (
    console,
    err_console,
    errors_reported,
    flag,
    noun_app,
    opened_runtime,
)

if TYPE_CHECKING:
    from borough.dashboard.schedules import ScheduleControl
    from borough.runtime import Runtime

app = noun_app("serve")


@app.command("scheduler")
def serve_scheduler(
    standby: Annotated[
        bool, flag("--standby", help="wait for the active scheduler to stop, then take over")
    ] = False,
    minutes: Annotated[
        float | None,
        typer.Option(
            "--for", metavar="MINUTES", help="stop by itself after this many minutes", min=0
        ),
    ] = None,
    leave_runs: Annotated[
        bool,
        flag(
            "--leave-runs", help="on stop, let running runs finish (the next scheduler adopts them)"
        ),
    ] = False,
) -> None:
    """Fire the schedules in config/schedules.yaml and run each due run in its own process.

    On start it records the fires missed while no scheduler ran, makes the store match
    schedules.yaml (as `borough schedules sync` does), and takes over runs a previous
    scheduler left running. One scheduler per store: a second one refuses to start, or with
    `--standby` waits and takes over.
    """
    from borough import logconfig
    from borough.cli.schedules_cmd import print_startup
    from scheduler import LIBRARY_LOGGERS
    from scheduler.service import SchedulerService

    with opened_runtime(actor="scheduler", console_level="INFO") as runtime, errors_reported():
        logconfig.route_stdlib(LIBRARY_LOGGERS)
        service = SchedulerService(runtime)
        if standby:
            console.print("Standby: waiting for the active scheduler to stop…")
        report = service.start(standby=standby)
        _stop_on_signals(service.request_stop)
        print_startup(report)
        count = len(service.schedules.active)
        console.print(f"[green]Scheduler running[/]: {count} schedule(s). Ctrl+C to stop.")
        deadline = None if minutes is None else time.monotonic() + minutes * 60
        try:
            service.serve(lambda: deadline is not None and time.monotonic() >= deadline)
        finally:
            service.stop(stop_runs=not leave_runs)
        console.print(f"Scheduler stopped; {service.ended_count} run(s) ended while it ran.")


@app.command("dashboard")
def serve_dashboard(
    host: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="address to listen on")
    ] = None,
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="port to listen on", min=1, max=65535)
    ] = None,
) -> None:
    """Serve the web dashboard for operators and auditors (default 127.0.0.1:8470).

    The defaults come from `dashboard:` in borough.yaml. Create the first administrator
    with `borough dashboard users add NAME --role admin`.
    """
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


@app.command("worker")
def serve_worker(
    queues: Annotated[
        list[str] | None,
        typer.Option(
            "--queue",
            "-q",
            metavar="QUEUE",
            help="a queue this machine serves, e.g. app:revenues or host:runner-2 (repeat)",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(metavar="N", min=1, help="runs at once on this machine")
    ] = 1,
    once: Annotated[bool, flag("--once", help="run what is queued now, then exit")] = False,
) -> None:
    """Run the runs a scale-out scheduler queued on PostgreSQL, each in its own process.

    For `dispatch: procrastinate` in schedules.yaml. Licence seats are procrastinate locks,
    so no two workers ever share a seat. On Ctrl+C or SIGTERM, runs in progress finish first.
    """
    from borough import logconfig
    from scheduler import LIBRARY_LOGGERS
    from scheduler.worker import run_worker

    with opened_runtime(actor="worker", console_level="INFO") as runtime, errors_reported():
        logconfig.route_stdlib(LIBRARY_LOGGERS)
        served = ", ".join(queues) if queues else "all queues"
        console.print(f"Worker serving {served} (concurrency {concurrency}).")
        run_worker(runtime, queues=queues, concurrency=concurrency, once=once)


def _stop_on_signals(stop: Any) -> None:
    """From here on, SIGTERM or Ctrl+C asks for a clean stop."""

    def _handler(signum: int, frame: Any) -> None:
        stop()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)


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
