"""``borough check app NAME``: do the app's screens still match what its bots declare?

Signs in, visits each declared screen without touching any item, and reports every locator
that no longer finds its element with the nearest candidates; ``--accept`` writes the fixes
a person accepts into config/apps.yaml (a copy kept first) and records who accepted them.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from borough.cli._common import console, fail, flag, local, noun_app, opened_runtime
from borough.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from borough.audit.trail import AuditTrail
    from borough.drift.report import DriftReport, Finding
    from borough.runtime import Runtime

app = noun_app("check")

STATUS = {"ok": "[green]ok[/]", "drift": "[red]drifted[/]", "error": "[yellow]not checked[/]"}


@app.command("app")
def check_app_cmd(
    name: Annotated[str, typer.Argument(metavar="APP", help="the app's name in config/apps.yaml")],
    accept: Annotated[
        bool, flag("--accept", help="offer each proposed fix for acceptance")
    ] = False,
    yes: Annotated[
        bool, flag("--yes", help="with --accept: accept every proposed fix shown")
    ] = False,
    by: Annotated[
        str | None,
        typer.Option("--by", metavar="NAME", help="who accepts (recorded); default: your login"),
    ] = None,
    as_json: Annotated[bool, flag("--json", help="print the report as JSON")] = False,
) -> None:
    """Visit the app's declared screens (signed in, no item touched) and report drift.

    Exit code 0: every declared locator matches; 1: some no longer match; 3: the app could
    not be checked (not running, sign-in refused, no screens declared).
    """
    from borough.audit.trail import operator_actor

    if (yes or by) and not accept:
        fail("--yes and --by go with --accept", ExitCode.USAGE)
    if accept and as_json and not yes:
        fail("--accept --json cannot ask questions: add --yes to accept every proposal")
    person = by or operator_actor().removeprefix("user:")
    output: dict[str, object] = {}
    with opened_runtime() as runtime:
        trail = runtime.trail.bind(target=name)
        report = _checked(runtime, name, trail, "check")
        output["report"] = report.as_dict()
        if not as_json:
            show(report)
        chosen = _chosen(report, yes) if accept and report.status == "drift" else []
        if chosen:
            _accept(runtime, name, chosen, trail, person, output, quiet=as_json)
    if chosen:
        with opened_runtime() as runtime:  # reads the changed config/apps.yaml
            report = _checked(runtime, name, runtime.trail.bind(target=name), "accept")
        output["recheck"] = report.as_dict()
        if not as_json:
            console.print("\nChecked again after the fixes:")
            show(report)
    if as_json:
        sys.stdout.write(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    codes = {"ok": ExitCode.OK, "drift": ExitCode.ITEMS_FAILED, "error": ExitCode.ERROR}
    raise typer.Exit(codes[report.status])


def _checked(runtime: Runtime, name: str, trail: AuditTrail, trigger: str) -> DriftReport:
    """The app checked through a connector opened for it (exit code 3 if it cannot be)."""
    from borough.drift.check import check_app, opened_app
    from borough.errors import BoroughError

    try:
        with opened_app(runtime, name, trail) as connector:
            return check_app(runtime, name, connector, trail, trigger=trigger)
    except BoroughError as exc:
        fail(str(exc), ExitCode.ERROR)


def show(report: DriftReport) -> None:
    """The report as an operator reads it: what broke, what is proposed, what was skipped."""
    console.print(
        f"[bold]{escape(report.app)}[/] ({report.kind}): {STATUS[report.status]} — "
        f"checked {local(report.checked_at)}"
    )
    if report.error:
        console.print(f"  {escape(report.error)}")
        return
    console.print(f"  {escape(report.summary().split(' (')[0])}")
    if report.broken:
        table = Table(title="No longer matching", title_justify="left")
        for column in ("screen / element", "declared", "found", "proposed fix", "candidates"):
            table.add_column(column, overflow="fold")
        for finding in report.broken:
            proposal = finding.proposal
            others = [f"{c.locator} — {c.description} ({c.score:.2f})" for c in finding.candidates]
            table.add_row(
                escape(finding.where),
                escape(finding.locator),
                escape(finding.detail),
                escape(f"{proposal.locator} ({proposal.score:.2f})") if proposal else "none",
                escape("\n".join(others) or "-"),
            )
        console.print(table)
    skipped = [f for f in report.findings if f.status == "unchecked"]
    if skipped:
        screens: dict[str, list[str]] = {}
        for finding in skipped:
            screens.setdefault(f"{finding.screen} ({finding.detail})", []).append(finding.element)
        for screen, elements in screens.items():
            console.print(f"  not visited: {escape(screen)}: {escape(', '.join(elements))}")
    if report.status == "drift":
        console.print(
            f"  To accept proposed fixes: [bold]borough check app {escape(report.app)} "
            "--accept[/]; fix the others by hand in config/apps.yaml."
        )


def _chosen(report: DriftReport, yes: bool) -> list[Finding]:
    """The broken findings whose proposal a person accepts (each asked, unless --yes)."""
    chosen = []
    for finding in report.broken:
        proposal = finding.proposal
        if proposal is None:
            continue
        question = (
            f"{finding.where}: replace {finding.locator!r} with {proposal.locator!r} "
            f"({proposal.description})?"
        )
        if yes or typer.confirm(question, default=False):
            chosen.append(finding)
    return chosen


def _accept(
    runtime: Runtime,
    name: str,
    chosen: list[Finding],
    trail: AuditTrail,
    person: str,
    output: dict[str, object],
    *,
    quiet: bool,
) -> None:
    from borough.drift.accept import accept
    from borough.errors import BoroughError

    try:
        done = accept(runtime, name, chosen, trail, accepted_by=person)
    except BoroughError as exc:
        fail(str(exc), ExitCode.ERROR)
    output["accepted"] = {
        "by": person,
        "changes": [edit.describe() for edit in done.edits],
        "file": str(done.file),
        "backup": str(done.backup),
    }
    if not quiet:
        console.print(
            f"\nAccepted by {escape(person)}: {len(done.edits)} change(s) written to "
            f"{escape(str(done.file))} (the previous file is kept as {escape(str(done.backup))})"
        )
