"""Build test installations around the counting target and the support bots."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from borough.testing import COUNTING_KIND, make_home


def people_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["Ref", "Name", "Email", "Amount"], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def people(count: int, *, bad_every: int = 0) -> list[dict[str, Any]]:
    rows = []
    for i in range(1, count + 1):
        row = {"Ref": f"R{i:04d}", "Name": f"Person {i}", "Email": "", "Amount": i}
        if bad_every and i % bad_every == 0:
            row["Amount"] = "lots"
        rows.append(row)
    return rows


def counting_home(
    root: Path,
    rows: list[dict[str, Any]],
    *,
    bot: str = "counting-bot",
    target: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    retry: dict[str, Any] | None = None,
    borough: dict[str, Any] | None = None,
    bot_options: dict[str, Any] | None = None,
) -> Path:
    """An installation with one counting app and ``bot`` reading people.csv
    (``bot_options``: more keys of the bot's config, e.g. ``check_first``)."""
    entry = {
        "counting-bot": "tests.support.bots:CountingBot",
        "no-lookup-bot": "tests.support.bots:NoLookupBot",
        "intent-bot": "tests.support.bots:IntentBot",
        "refused-bot": "tests.support.bots:RefusedBot",
        "saving-bot": "tests.support.bots:SavingBot",
    }[bot]
    bot_config: dict[str, Any] = {
        "bot": bot,
        "entry": entry,
        "inputs": {"csv": "input/people.csv"},
        "apps": ["counting"],
        "settings": settings or {},
        **(bot_options or {}),
    }
    if retry:
        bot_config["retry"] = retry
    apps = {
        "apps": {"counting": {"kind": COUNTING_KIND, "path": "var/target.sqlite", **(target or {})}}
    }
    settings_file = borough or {"audit": {"checkpoint_every": 50}}
    return make_home(
        root,
        files={
            "config/borough.yaml": yaml.safe_dump(settings_file),
            "config/apps.yaml": yaml.safe_dump(apps),
            f"config/bots/{bot}.yaml": yaml.safe_dump(bot_config),
            "input/people.csv": people_csv(rows),
        },
    )
