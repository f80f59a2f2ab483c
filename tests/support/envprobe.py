"""A bot that reports the environment of its own process and of a process it starts.

Each run writes ``<settings.out>/<run id>.json``: what ``/proc/self/environ`` of the run's
process holds (fixed when the process started: what its parent gave it), what its
``os.environ`` holds while it works, and what a child it starts (as a browser, a desktop
app or an X server would be started) sees in its own ``/proc/self/environ``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict

from borough import Bot, Item, RunContext
from borough.testing import make_home


class Probe(BaseModel):
    model_config = ConfigDict(frozen=True)

    run: str


def environ_of(raw: bytes) -> dict[str, str]:
    entries = [entry.decode("utf-8", "replace") for entry in raw.split(b"\0") if entry]
    return dict(entry.partition("=")[::2] for entry in entries)


class EnvProbeBot(Bot[Probe]):
    name: ClassVar[str] = "env-probe"
    version: ClassVar[str] = "1.0.0"
    schema = Probe

    def items(self, ctx: RunContext) -> Iterator[Item[Probe]]:
        yield Item(key=ctx.run_id, data=Probe(run=ctx.run_id))

    def process(self, ctx: RunContext, item: Item[Probe]) -> str:
        child = subprocess.run(
            ["cat", "/proc/self/environ"], capture_output=True, check=True, timeout=30
        )
        report = {
            "own_at_start": environ_of(Path("/proc/self/environ").read_bytes()),
            "own_now": dict(os.environ),
            "child": environ_of(child.stdout),
        }
        out = Path((ctx.settings or {})["out"])
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{ctx.run_id}.json").write_text(json.dumps(report), encoding="utf-8")
        return f"probed-{ctx.run_id}"

    def find_existing(self, ctx: RunContext, item: Item[Probe]) -> str | None:
        out = Path((ctx.settings or {})["out"]) / f"{item.key}.json"
        return f"probed-{item.key}" if out.exists() else None


def probe_home(root: Path, schedules: dict[str, Any] | None = None) -> Path:
    """An installation with the probe bot (reports in ``<home>/probes``)."""
    bot = {
        "bot": "env-probe",
        "entry": "tests.support.envprobe:EnvProbeBot",
        "settings": {"out": str(root / "probes")},
    }
    files = {
        "config/borough.yaml": yaml.safe_dump({"audit": {"checkpoint_every": 100}}),
        "config/apps.yaml": yaml.safe_dump({"apps": {}}),
        "config/bots/env-probe.yaml": yaml.safe_dump(bot),
        "config/schedules.yaml": yaml.safe_dump(
            {"scheduler": {"kill_grace_seconds": 1}, "schedules": schedules or {}}
        ),
    }
    return make_home(root, files=files)


def probes(home: Path) -> list[dict[str, dict[str, str]]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted((home / "probes").glob("*.json"))]
