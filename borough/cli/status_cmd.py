"""``borough status``: every machine of the installation — runners, their queues and
heartbeats, the runs they are running and the licence seats those hold."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from borough.cli._common import console, flag, opened_view, verb_app

app = verb_app()


@app.command("status")
def status(
    as_json: Annotated[bool, flag("--json", help="print the status as JSON")] = False,
    beat: Annotated[
        float | None,
        typer.Option(
            "--beat",
            metavar="SECONDS",
            min=0.1,
            help="judge every runner by this heartbeat interval instead of the one it "
            "recorded (silent after 3 missed beats)",
        ),
    ] = None,
) -> None:
    """Runner machines, their queues and heartbeats, current runs and seats, across machines.

    Read from the shared ledger (and the run queue when it is in the same PostgreSQL), so
    any machine shows the whole installation. No passphrase needed.
    """
    from borough.fleet import fleet_status

    with opened_view() as view:
        fleet = fleet_status(view.ledger)
    if as_json:
        console.print_json(data=_as_dict(fleet, beat))
        return
    if not fleet.hosts:
        console.print("No runner has registered and nothing is running.")
    table = Table(title="Machines", title_justify="left")
    for column in ("host", "state", "heartbeat", "queues", "runs now", "seats held"):
        table.add_column(column)
    for host in fleet.hosts:
        runner = host.runner
        heartbeat = f"{runner.silent_seconds(fleet.now):.0f}s ago" if runner else "-"
        queues = ", ".join(runner.queues) if runner and runner.queues else "-"
        if runner and runner.concurrency > 1:
            queues += f" (x{runner.concurrency})"
        runs = "\n".join(f"{run.id} {run.bot}" for run in host.runs) or "-"
        seats = "\n".join(f"{seat.app}#{seat.slot} ({seat.run_id})" for seat in host.seats) or "-"
        table.add_row(
            escape(host.host),
            host.state(fleet.now, beat),
            heartbeat,
            escape(queues),
            escape(runs),
            escape(seats),
        )
    console.print(table)
    if fleet.queues is not None:
        waiting = ", ".join(
            f"{queue}: {depth['todo']} waiting, {depth['doing']} running"
            for queue, depth in sorted(fleet.queues.items())
        )
        console.print(f"Run queues: {escape(waiting) or 'empty'}")


def _as_dict(fleet: object, beat: float | None) -> dict[str, object]:
    from borough.fleet import FleetStatus

    assert isinstance(fleet, FleetStatus)
    return {
        "at": fleet.now.isoformat(),
        "machines": [
            {
                "host": host.host,
                "state": host.state(fleet.now, beat),
                "queues": list(host.runner.queues) if host.runner else [],
                "concurrency": host.runner.concurrency if host.runner else None,
                "heartbeat_at": host.runner.heartbeat_at.isoformat() if host.runner else None,
                "beat_seconds": host.beat(beat) if host.runner else None,
                "runs": [{"id": r.id, "bot": r.bot, "trigger": r.trigger} for r in host.runs],
                "seats": [{"app": s.app, "slot": s.slot, "run_id": s.run_id} for s in host.seats],
            }
            for host in fleet.hosts
        ],
        "queues": fleet.queues,
    }
