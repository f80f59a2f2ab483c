"""Run a borough command in a child with its memory and time capped, so a hostile input that
regresses fails the test instead of eating the machine."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_capped(
    args: list[str],
    env: Mapping[str, str],
    *,
    memory_mb: int = 1536,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m borough ARGS`` with an address-space cap (RLIMIT_AS) and a time limit."""

    def cap() -> None:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "borough", *args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=cap,
    )
