"""The top-level commands of ``borough``: where each lives and its one-line help.

The root group imports a command's module only when that command runs (or its own help
is asked for): ``borough --help`` lists these lines without importing any of them, and
``borough run`` imports only ``run_cmd``. A noun's sub-app takes its help from here
(:func:`borough.cli._common.noun_app`), so each line is written once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str
    module: str  #: a module with a Typer ``app`` (one command, or one noun's commands)
    help: str
    hidden: bool = False  #: an old name kept for one release


ENTRIES = (
    Entry("run", "borough.cli.run_cmd", "Run a bot now: work each input row exactly once."),
    Entry("demo", "borough.cli.demo_cmd", "Run the demo: sample council data, three legacy apps."),
    Entry("serve", "borough.cli.serve_cmd", "Run a service: the scheduler, dashboard or worker."),
    Entry(
        "status",
        "borough.cli.status_cmd",
        "Every machine: runners, queues, heartbeats, runs now and seats held.",
    ),
    Entry("runs", "borough.cli.runs_cmd", "Look at runs: when, why, and how they ended."),
    Entry(
        "items",
        "borough.cli.items_cmd",
        "Look at work items; retry failed ones; resolve those needing review; decide "
        "four-eyes requests.",
    ),
    Entry(
        "ledger",
        "borough.cli.ledger_cmd",
        "Repair the ledger's account in the audit trail.",
    ),
    Entry(
        "schedules",
        "borough.cli.schedules_cmd",
        "See, sync, pause, resume and run the schedules (config/schedules.yaml).",
    ),
    Entry("ledger", "borough.cli.ledger_cmd", "Repair the ledger's account in the audit trail."),
    Entry(
        "ledger",
        "borough.cli.ledger_cmd",
        "Repair the ledger's account in the audit trail.",
    ),
    Entry(
        "audit",
        "borough.cli.audit_cmd",
        "Verify, export and search the tamper-evident audit trail.",
    ),
    Entry(
        "secrets",
        "borough.cli.secrets_cmd",
        "Manage the encrypted secret store (credentials for legacy apps).",
    ),
    Entry(
        "keys",
        "borough.cli.keys_cmd",
        "Show, back up and restore borough's keys (kept in the secret store).",
    ),
    Entry(
        "evidence",
        "borough.cli.evidence_cmd",
        "Evidence of failed items and downloaded reports: list, show or export (audited).",
    ),
    Entry(
        "report",
        "borough.cli.report_cmd",
        "Reports from the ledger: the benefits of the bots (hours saved, exception rate).",
    ),
    Entry(
        "record",
        "borough.cli.record_cmd",
        "Record a person using a web app and write a draft recipe bot.",
    ),
    Entry("config", "borough.cli.config_cmd", "Check the configuration."),
    Entry(
        "check",
        "borough.cli.check_cmd",
        "Check that apps still look as their bots expect (screens, locators).",
    ),
    Entry(
        "dashboard",
        "borough.cli.dashboard_cmd",
        "The web dashboard's accounts (serve it with `borough serve dashboard`).",
    ),
    Entry("init", "borough.cli.init_cmd", "Create a council's own bots repository."),
    Entry("new", "borough.cli.new_cmd", "Create a new bot (files, web or desktop) with its tests."),
    Entry(
        "scheduler",
        "borough.cli.scheduler_cmd",
        "Deprecated: `borough serve scheduler`, `borough schedules sync|status`.",
        hidden=True,
    ),
    Entry("worker", "borough.cli.worker_cmd", "Deprecated: `borough serve worker`.", hidden=True),
)
BY_NAME = {entry.name: entry for entry in ENTRIES}
