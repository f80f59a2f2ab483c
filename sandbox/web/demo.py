"""Start Caseflow for the demo: seeded store, fresh robot password, config pointed at it.

The caller (``borough demo``) stores ``secret_value`` under ``secret_name`` in the demo's
secret store and calls ``stop()`` at the end.
"""

from __future__ import annotations

import csv
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.web.config import SandboxConfig
from sandbox.web.data import Notification, seed_case
from sandbox.web.server import serve_in_thread
from sandbox.web.store import CaseStore

APP = "casework"
SECRET_NAME = "casework-login"
ROBOT_USER = "bot.casework"
STORE = Path("var/targets/casework/caseflow.sqlite")
SAMPLE = Path("sample-data/coc_notifications.csv")
#: cases staff keyed before the robot ran: two drafts to complete, one already complete
SEEDED = {"HB300001": "Draft", "HB300006": "Draft", "HB300011": "Open"}


@dataclass
class DemoApp:
    url: str
    store: Path
    secret_name: str
    secret_value: str = field(repr=False)
    stop: Callable[[], None] = field(repr=False)


def start_demo_app(
    home: Path, *, fault_rate: float = 0.05, latency: float = 0.02, seed: int = 7
) -> DemoApp:
    """Serve Caseflow on a free port for the installation in ``home``."""
    store = home / STORE
    password = secrets.token_urlsafe(16)
    seed_store(store, home / SAMPLE)
    config = SandboxConfig(
        store=store,
        users={ROBOT_USER: password},
        fault_rate=fault_rate,
        latency=latency,
        jitter=latency,
        seed=seed,
    )
    running = serve_in_thread(config)
    point_config_at(home / "config" / "apps.yaml", APP, running.url)
    return DemoApp(
        url=running.url,
        store=store,
        secret_name=SECRET_NAME,
        secret_value=f"{ROBOT_USER}:{password}",
        stop=running.stop,
    )


def seed_store(store: Path, sample: Path) -> None:
    """Put the staff-keyed cases in an empty store (a kept demo store is left alone)."""
    cases = CaseStore(store)
    try:
        if cases.all_cases() or not sample.exists():
            return
        with sample.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                status = SEEDED.get(row["Claim Ref"])
                if status:
                    seed_case(cases, Notification(row, "valid"), status=status)
    finally:
        cases.close()


def point_config_at(apps_yaml: Path, app: str, url: str) -> None:
    """Rewrite ``base_url`` of one app in place, keeping the file's comments."""
    lines = apps_yaml.read_text(encoding="utf-8").splitlines(keepends=True)
    inside = False
    for index, line in enumerate(lines):
        if re.match(rf"^  {re.escape(app)}:\s*$", line):
            inside = True
            continue
        if inside and re.match(r"^  \S", line):
            break
        if inside and re.match(r"^\s+base_url:", line):
            indent = line[: len(line) - len(line.lstrip())]
            lines[index] = f"{indent}base_url: {url}\n"
            apps_yaml.write_text("".join(lines), encoding="utf-8")
            return
    raise ValueError(f"{apps_yaml} has no base_url for app {app!r}")
