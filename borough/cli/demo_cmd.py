"""``borough demo``: the main job, on bundled sample data, in its own demo installation.

The scheduler runs three bots against three simulated legacy systems, each bot more than
once, so an operator sees in a few minutes what a night of scheduled runs looks like:
files → Excel import, CSV → web casework app (Chromium), web report → desktop client
(Xvfb). The second run of each bot shows that nothing is done twice.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from borough.cli._common import LONDON, console, errors_reported, fail, flag, local, verb_app

if TYPE_CHECKING:
    from borough.ledger import RunRecord
    from borough.runtime import Runtime
    from borough_examples.demo import Holding
    from scheduler.session import SessionSummary

DEMO_PASSPHRASE = "borough-demo-only-not-for-real-secrets"
SCHEDULES = "sample-data/demo-schedules.yaml"
STORY = (
    "A council's benefits team receives change-of-circumstance notifications; revenues staff "
    "re-key the results into two other systems. In this demo three scheduled bots do it:\n"
    "  • [bold]benefits-to-revenues[/]: the benefits CSV export → the revenues import "
    "workbook (files)\n"
    "  • [bold]change-of-circumstances[/]: notifications → cases in [bold]Caseflow[/], a "
    "frames-era casework web app, through Chromium\n"
    "  • [bold]casework-to-revenues-desktop[/]: Caseflow's case report → the revenues "
    "[bold]desktop client[/] (Tk), keyed and read back on a virtual display\n"
    "Sample rows are deliberately bad in places and the apps inject faults (HTTP 500, "
    "half pages, 'record locked'): watch them fail with a reason or be retried, never doubled."
)


app = verb_app()


@app.command("demo")
def demo(
    keep: Annotated[
        bool, flag("--keep", help="keep the previous demo's ledger and apps (exactly-once)")
    ] = False,
    runs: Annotated[
        int, typer.Option(metavar="N", min=1, max=5, help="runs of each bot before the demo ends")
    ] = 2,
    minutes: Annotated[
        float,
        typer.Option(metavar="MINUTES", min=1, help="stop after this long even if runs are left"),
    ] = 10,
    published: Annotated[
        bool,
        flag(
            "--published",
            help="show the desktop client as a published app (remote-desktop style): the bot "
            "sees it only through a VNC viewer, types and reads back by OCR",
        ),
    ] = False,
) -> None:
    """Run the demo: sample council data, three legacy apps.

    The scheduler moves sample council data between three simulated legacy systems.

    Everything happens in var/demo (its own config copy, ledger, audit trail, secrets and
    apps), so the demo never touches a real installation.
    """
    from borough import logconfig
    from borough.config import load_config, resolve_paths
    from borough.runtime import open_runtime
    from borough.secrets.passphrase import take_passphrase
    from borough_examples.demo import legacy_systems, use_published_client

    source_home = Path(os.environ.get("BOROUGH_HOME") or Path.cwd()).resolve()
    if not (source_home / "config").is_dir():
        fail(f"run the demo from the borough folder ({source_home} has no config/)")
    demo_home = prepare_home(source_home, keep=keep)
    if published:
        use_published_client(demo_home)
    # Taken out of this process's environment before the legacy apps and X server start.
    passphrase = take_passphrase("BOROUGH_SECRETS_PASSPHRASE") or DEMO_PASSPHRASE
    env = {"BOROUGH_HOME": str(demo_home), "BOROUGH_SECRETS_PASSPHRASE": passphrase}
    console.rule("[bold]borough demo")
    console.print(STORY)
    if published:
        console.print(
            "The revenues client is [bold]published[/]: it runs inside a VNC server and the "
            "bot sees it only through a viewer window (no clipboard, no window titles), "
            "typing each value and reading it back by OCR."
        )
    console.print(f"\nDemo installation: {demo_home}")
    with errors_reported(), legacy_systems(demo_home) as systems:
        console.print(
            f"Caseflow is serving at {systems.caseflow.url}; virtual display {systems.display}"
        )
        config = load_config(resolve_paths(env))
        runtime = open_runtime(config, env=env)
        logconfig.configure(runtime, console_level="WARNING")
        try:
            systems.store_credentials(runtime)
            summary = run_schedules(runtime, env, runs=runs, minutes=minutes)
            report(runtime, summary.runs, systems.holdings())
        finally:
            logconfig.reset()
            runtime.close()


def prepare_home(source_home: Path, *, keep: bool) -> Path:
    """var/demo with copies of config/ and sample-data/ (wiped first unless ``keep``)."""
    demo_home = source_home / "var" / "demo"
    if demo_home.exists() and not keep:
        shutil.rmtree(demo_home)
    demo_home.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source_home / "config", demo_home / "config", dirs_exist_ok=True)
    shutil.copytree(source_home / "sample-data", demo_home / "sample-data", dirs_exist_ok=True)
    return demo_home


def run_schedules(
    runtime: Runtime, env: dict[str, str], *, runs: int, minutes: float
) -> SessionSummary:
    """The scheduler, in this process, until every demo schedule has ``runs`` finished runs."""
    from borough.ledger import RunStatus
    from scheduler.config import load_schedules
    from scheduler.session import run_for

    schedules_file = runtime.paths.home / SCHEDULES
    anchor_intervals(schedules_file, datetime.now(LONDON).replace(microsecond=0))
    names = list(load_schedules(runtime.config, schedules_file).entries)
    finished: Counter[str] = Counter()
    started = time.monotonic()
    console.rule("Scheduler")
    console.print(
        f"Each bot runs now, then every minute, until each has run {runs} time(s) "
        f"(at most {minutes:g} minutes). A fire while the bot's previous run still works "
        "is recorded as MISSED, never silently dropped."
    )

    def ended(record: RunRecord) -> None:
        if record.schedule and record.status.finished and record.status is not RunStatus.MISSED:
            finished[record.schedule] += 1
        console.print(run_line(record))

    with console.status("scheduler starting…") as status:
        shown = 0.0

        def done() -> bool:
            nonlocal shown
            if time.monotonic() - shown >= 1.0:  # the ledger is read once a second
                shown = time.monotonic()
                status.update(progress_text(runtime, started, finished, runs))
            return all(finished[name] >= runs for name in names)

        return run_for(
            runtime,
            schedules_file=schedules_file,
            minutes=minutes,
            env=env,
            on_run_ended=ended,
            run_now=names,
            until=done,
        )


def anchor_intervals(schedules_file: Path, start: datetime) -> None:
    """Count the demo's intervals from ``start`` (they run now at the start), so the first
    fire comes a whole interval later instead of colliding with the runs just queued.
    Edits the demo's own copy in place, keeping its comments."""
    text = schedules_file.read_text(encoding="utf-8")
    anchored = re.sub(
        r"interval: \{([^}]*)\}",
        lambda m: f'interval: {{{m.group(1)}, start: "{start.replace(tzinfo=None).isoformat()}"}}',
        text,
    )
    schedules_file.write_text(anchored, encoding="utf-8")


def progress_text(runtime: Runtime, started: float, finished: Counter[str], runs: int) -> str:
    """One status line: each live run's items so far (saved after every item), and how
    many runs of each schedule have finished."""
    from borough.ledger import RunStatus

    live = runtime.ledger.runs.list(statuses=(RunStatus.RUNNING, RunStatus.QUEUED), limit=20)
    parts = []
    for run in sorted(live, key=lambda r: r.created_at):
        if run.status is RunStatus.QUEUED:
            waiting = run.detail.get("waiting_for")
            parts.append(f"{run.bot} waiting for {waiting}" if waiting else f"{run.bot} queued")
        elif run.counts.ingested or run.counts.already_done:
            c = run.counts
            worked = c.done + c.failed + c.needs_review + c.skipped
            parts.append(f"{run.bot} {worked}/{c.ingested} items")
        else:
            parts.append(f"{run.bot} starting")
    elapsed = time.monotonic() - started
    finished_text = ", ".join(f"{name} {count}/{runs}" for name, count in sorted(finished.items()))
    return (
        f"{elapsed:.0f}s · "
        + (" · ".join(parts) or "waiting for the next fire")
        + (f" · finished runs: {finished_text}" if finished_text else "")
    )


def run_line(run: RunRecord) -> str:
    from borough.cli._render import status_text

    counts = run.counts
    return (
        f"{local(run.ended_at)}  {run.bot:<30} {status_text(run.status)}  "
        f"done {counts.done}, failed {counts.failed}, review {counts.needs_review}, "
        f"already done {counts.already_done}, retries {counts.retried}"
    )


def passphrase_hint(passphrase: str) -> str:
    """The demo's own passphrase, or a placeholder: an operator's is never printed."""
    return DEMO_PASSPHRASE if passphrase == DEMO_PASSPHRASE else "..."


def report(runtime: Runtime, runs: list[RunRecord], holdings: list[Holding]) -> None:
    from borough.audit.check import verify_installation
    from borough.cli._render import runs_table

    console.rule("Runs (from the run ledger)")
    console.print(runs_table(runs))
    console.rule("What the legacy systems hold now (read from their own stores)")
    table = Table(title_justify="left")
    for column in ("system", "records", "detail"):
        table.add_column(column)
    for holding in holdings:
        table.add_row(holding.system, str(holding.records), holding.detail)
    console.print(table)
    console.rule("Audit trail")
    verdict = verify_installation(runtime)
    state = "[green]intact[/]" if verdict.ok else f"[red]{verdict.problem}[/]"
    console.print(f"{verdict.records} records, {verdict.checkpoints} signed checkpoints: {state}")
    console.rule("Where to look")
    paths, home = runtime.paths, runtime.paths.home
    console.print(f"ledger:     {runtime.ledger.url}")
    console.print(f"audit:      {paths.audit / 'audit.jsonl'}")
    console.print(f"run logs:   {paths.runs}")
    console.print(f"evidence:   {paths.evidence}  (screenshots, traces, pages of failed items)")
    for holding in holdings:
        console.print(f"{holding.system}: {holding.location}")
    console.print(
        "\nTry, with the demo's installation:\n"
        f"  export BOROUGH_HOME={home} BOROUGH_SECRETS_PASSPHRASE="
        f"{passphrase_hint(runtime.secrets.reveal_passphrase())}\n"
        "  borough runs list\n"
        "  borough items list --state failed\n"
        "  borough audit verify\n"
        "  borough dashboard users add admin --role admin && borough serve dashboard"
    )
