"""Installations and bots for scheduler tests: runs that take a set time, runs that hang."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict

from borough import Bot, Item, RunContext
from borough.testing import COUNTING_KIND, CountingTarget, home_env, make_home

ROOT = Path(__file__).resolve().parents[2]


class Tick(BaseModel):
    model_config = ConfigDict(frozen=True)

    run: str


class SleepyBot(Bot[Tick]):
    """One fresh item per run (keyed by the run), worked for ``settings.seconds``."""

    name: ClassVar[str] = "sleepy-a"
    version: ClassVar[str] = "1.0.0"
    schema = Tick

    def items(self, ctx: RunContext) -> Iterator[Item[Tick]]:
        yield Item(key=ctx.run_id, data=Tick(run=ctx.run_id))

    def target(self, ctx: RunContext) -> CountingTarget:
        app = (ctx.settings or {}).get("app", "counting")
        return ctx.app(app, CountingTarget)

    def process(self, ctx: RunContext, item: Item[Tick]) -> str:
        time.sleep(float((ctx.settings or {}).get("seconds", 0)))
        return self.target(ctx).create(item.key, "tick")

    def find_existing(self, ctx: RunContext, item: Item[Tick]) -> str | None:
        return self.target(ctx).find(item.key)


class SleepyBotB(SleepyBot):
    name: ClassVar[str] = "sleepy-b"


class HangingBot(SleepyBot):
    """Hangs in ``process`` while ``settings.hang`` is true (ignoring SIGTERM if told to)."""

    name: ClassVar[str] = "hang-bot"

    def process(self, ctx: RunContext, item: Item[Tick]) -> str:
        settings = ctx.settings or {}
        if settings.get("hang", True):
            if settings.get("ignore_sigterm", False):
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(1)
        return self.target(ctx).create(item.key, "tick")


ENTRIES = {
    "sleepy-a": "tests.support.scheduling:SleepyBot",
    "sleepy-b": "tests.support.scheduling:SleepyBotB",
    "hang-bot": "tests.support.scheduling:HangingBot",
}


def scheduler_home(
    root: Path,
    schedules: dict[str, Any],
    *,
    bots: dict[str, dict[str, Any]] | None = None,
    apps: dict[str, Any] | None = None,
    scheduler: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    borough: dict[str, Any] | None = None,
) -> Path:
    """An installation with test bots (``bots``: name -> settings) and ``schedules``."""
    bots = bots if bots is not None else {"sleepy-a": {}, "sleepy-b": {}}
    apps = apps or {"counting": {"kind": COUNTING_KIND, "path": "var/target.sqlite"}}
    files: dict[str, str] = {
        "config/borough.yaml": yaml.safe_dump(borough or {"audit": {"checkpoint_every": 100}}),
        "config/apps.yaml": yaml.safe_dump({"apps": apps}),
    }
    for name, settings in bots.items():
        app = settings.get("app", "counting")
        files[f"config/bots/{name}.yaml"] = yaml.safe_dump(
            {"bot": name, "entry": ENTRIES[name], "apps": [app], "settings": settings}
        )
    document: dict[str, Any] = {"scheduler": {"kill_grace_seconds": 1, **(scheduler or {})}}
    document.update(extra or {})
    document["schedules"] = schedules
    files["config/schedules.yaml"] = yaml.safe_dump(document, sort_keys=False)
    return make_home(root, files=files)


def one_seat_home(root: Path, **options: Any) -> Path:
    """Two schedules firing every 2 s, their bots sharing an app with ``max_sessions: 1``;
    ``options`` go to :func:`scheduler_home` (``scheduler=``, ``borough=``)."""
    return scheduler_home(
        root,
        {
            "a": {"bot": "sleepy-a", "interval": {"seconds": 2}, "misfire_grace_seconds": 30},
            "b": {"bot": "sleepy-b", "interval": {"seconds": 2}, "misfire_grace_seconds": 30},
        },
        bots={"sleepy-a": {"seconds": 0.5}, "sleepy-b": {"seconds": 0.5}},
        apps={"counting": {"kind": COUNTING_KIND, "path": "var/target.sqlite", "max_sessions": 1}},
        **options,
    )


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    """``check()``'s first true value, polled; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def child_env(home: Path) -> dict[str, str]:
    """What a scheduler (or its runs) needs to find this home and the test bots."""
    return {
        **home_env(home),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
