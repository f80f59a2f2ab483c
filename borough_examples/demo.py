"""The legacy systems of ``borough demo``, started in a demo installation and counted after.

Caseflow (the casework web app) is served on a free local port, the revenues desktop
client gets a virtual display of its own (the connector starts the client itself), and
the revenues import workbook is a file. :func:`legacy_systems` starts and stops them;
:meth:`LegacySystems.holdings` reads what each system holds, from its own store, so the
demo can show the result without trusting what the bots say.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.desktop import virtual_display
from sandbox.web.demo import DemoApp, start_demo_app
from sandbox.web.store import CaseStore

if TYPE_CHECKING:
    from borough.runtime import Runtime

#: where config/apps.yaml keeps the sandbox stores (relative to the installation)
REVENUES_CLIENT_STORE = Path("var/targets/revenues-desktop.sqlite")
IMPORT_WORKBOOK = Path("var/targets/revenues/ctr_import.xlsx")
#: the demo's desktop bot and the sandbox revenues client's app in config/apps.yaml
DESKTOP_BOT, DESKTOP_APP = "casework-to-revenues-desktop", "revenues-desktop"
PUBLISHED = "revenues-published"  #: the same client, seen only as pixels (config/apps.yaml)
#: the sandbox client's built-in password (``DEFAULT_PASSWORD`` of sandbox/desktop/__main__.py,
#: which imports Tk), demo only
SANDBOX_PASSWORD = "Sandbox-£2026!"


@dataclass(frozen=True)
class Holding:
    """What one legacy system holds: a count of records and a breakdown (no personal data)."""

    system: str
    records: int
    detail: str
    location: Path


@dataclass
class LegacySystems:
    home: Path
    caseflow: DemoApp
    display: str

    def store_credentials(self, runtime: Runtime) -> None:
        """Put the sandboxes' sign-ins in the demo's encrypted secret store."""
        runtime.secrets.set(self.caseflow.secret_name, self.caseflow.secret_value)
        store_sandbox_password(runtime)

    def holdings(self) -> list[Holding]:
        return [caseflow_holding(self.caseflow.store), revenues_client_holding(self.home),
                workbook_holding(self.home)]  # fmt: skip


@contextmanager
def legacy_systems(home: Path, *, fault_rate: float = 0.05) -> Iterator[LegacySystems]:
    """Start Caseflow (pointing ``home``'s config at it) and a virtual display; stop both.

    Call before the installation's config is loaded: Caseflow's port is written into
    ``config/apps.yaml``.
    """
    caseflow = start_demo_app(home, fault_rate=fault_rate)
    try:
        with virtual_display() as display:
            yield LegacySystems(home, caseflow, display)
    finally:
        caseflow.stop()


def use_published_client(home: Path) -> None:
    """Point the desktop bot of ``home`` at the revenues client published as pixels only
    (``revenues-published``: seen through a VNC viewer, read by OCR, started and stopped by
    the connector for each run). The bot itself is unchanged; only its config says so."""
    import yaml

    path = home / "config" / "bots" / f"{DESKTOP_BOT}.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["apps"] = [PUBLISHED if app == DESKTOP_APP else app for app in config["apps"]]
    config.setdefault("settings", {})["target_app"] = PUBLISHED
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def caseflow_holding(store: Path) -> Holding:
    cases = CaseStore(store)
    try:
        statuses = Counter(case.status for case in cases.all_cases())
    finally:
        cases.close()
    return Holding("Caseflow (web)", sum(statuses.values()), _breakdown("cases", statuses), store)


def revenues_client_holding(home: Path) -> Holding:
    path = home / REVENUES_CLIENT_STORE
    kinds: Counter[str] = Counter()
    if path.exists():
        with closing(sqlite3.connect(path)) as db:
            kinds.update(dict(db.execute("SELECT change_type, count(*) FROM changes GROUP BY 1")))
    return Holding("Revenues client (desktop)", sum(kinds.values()),
                   _breakdown("changes", kinds), path)  # fmt: skip


def workbook_holding(home: Path) -> Holding:
    from openpyxl import load_workbook

    path = home / IMPORT_WORKBOOK
    rows = 0
    if path.exists():
        book = load_workbook(path, read_only=True)
        try:
            rows = sum(max((sheet.max_row or 1) - 1, 0) for sheet in book.worksheets)
        finally:
            book.close()
    return Holding("Revenues import workbook (files)", rows, "rows waiting for the import", path)


def _breakdown(noun: str, counts: Counter[str]) -> str:
    if not counts:
        return f"no {noun}"
    return f"{noun}: " + ", ".join(f"{key} {n}" for key, n in sorted(counts.items()))


def store_sandbox_password(runtime: Runtime) -> None:
    """Put the sandbox client's built-in password in the store, unless the app's secret is
    already set (demo only: a real app's password is an operator's ``borough secrets set``)."""
    credential = runtime.config.app(DESKTOP_APP).credential or DESKTOP_APP
    if runtime.secrets.find(credential) is None:
        runtime.secrets.set(credential, SANDBOX_PASSWORD)
