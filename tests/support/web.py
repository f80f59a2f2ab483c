"""Installations around the Caseflow sandbox and the change-of-circumstances bot."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from borough.testing import make_home, runtime_in
from sandbox.web.data import Notification, seed_case, write_csv
from sandbox.web.store import CaseStore
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
BOT = "change-of-circumstances"
RECIPE = "change-of-circumstances-recipe"  #: the same bot as a recipe (config only)
SECRET = "casework-login"
USER = "bot.casework"
PASSWORD = "Canary-Pw-7f3e1d"  # a canary: it must never appear in any artifact
#: fast settings for tests: short waits, quick retries
FAST_APP = {
    "timeout_seconds": 4,
    "navigation_timeout_seconds": 6,
    "backoff_seconds": 0.05,
}
FAST_RETRY = {"attempts": 8, "backoff_seconds": 0.05, "max_backoff_seconds": 0.4}


class HandClock:
    """Seconds that pass only when a test says so (Caseflow's ``SandboxConfig.clock``): a
    session ends because the test moved the clock, never because the machine was slow."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


#: valid rows of ``notifications(n, bad_every=5)`` staff keyed before the robot ran (row
#: index -> status): two drafts the bot completes, one finished case it leaves alone
SEEDED = {1: "Draft", 6: "Draft", 7: "Open"}


def seed_staff_cases(
    store: Path, rows: list[Notification], seeded: dict[int, str] | None = None
) -> set[str]:
    """Put the cases staff keyed by hand in Caseflow's store; their references."""
    cases = CaseStore(store)
    try:
        chosen = SEEDED if seeded is None else seeded
        assert all(rows[index].expect == "valid" for index in chosen)
        return {seed_case(cases, rows[index], status=s) for index, s in chosen.items()}
    finally:
        cases.close()


def require_chromium() -> None:
    require(shutil.which("chromium") is not None, "Debian chromium", "apt-get install chromium")


def web_home(
    root: Path,
    url: str,
    rows: list[Notification],
    *,
    app: dict[str, Any] | None = None,
    retry: dict[str, Any] | None = None,
    borough: dict[str, Any] | None = None,
    secret: str | None = f"{USER}:{PASSWORD}",
    bot: str = BOT,
    bot_config: dict[str, Any] | None = None,
) -> Path:
    """An installation whose ``casework`` app points at ``url``, with rows to work
    (``bot_config``: more keys of the bot's config, merged in; its ``settings`` too)."""
    apps = yaml.safe_load((ROOT / "config" / "apps.yaml").read_text(encoding="utf-8"))
    casework = {**apps["apps"]["casework"], "base_url": url, **FAST_APP, **(app or {})}
    config = yaml.safe_load((ROOT / "config" / "bots" / f"{bot}.yaml").read_text(encoding="utf-8"))
    config["inputs"] = {"notifications": "input/notifications.csv"}
    config["retry"] = retry or FAST_RETRY
    for key, value in (bot_config or {}).items():
        config[key] = {**config.get(key, {}), **value} if key == "settings" else value
    home = make_home(
        root,
        files={
            "config/borough.yaml": yaml.safe_dump(borough or {"audit": {"checkpoint_every": 100}}),
            "config/apps.yaml": yaml.safe_dump({"apps": {"casework": casework}}),
            f"config/bots/{bot}.yaml": yaml.safe_dump(config),
        },
    )
    write_csv(home / "input" / "notifications.csv", rows)
    if secret is not None:
        with runtime_in(home) as runtime:
            runtime.secrets.set(SECRET, secret)
    return home


def evidence_files(home: Path) -> list[Path]:
    folder = home / "logs" / "evidence"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
