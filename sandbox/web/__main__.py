"""``python -m sandbox.web``: serve the casework sandbox until interrupted.

Prints ``READY <url>`` on its first line once it listens. Users come from the
``CASEFLOW_USERS`` environment variable (JSON ``{"user": "password"}``), never argv.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from sandbox.web.config import SandboxConfig
from sandbox.web.server import USERS_ENV, serve_in_thread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.web", description=__doc__)
    parser.add_argument("--store", type=Path, required=True, help="SQLite file of the app")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--idle-timeout", type=float, default=900.0)
    parser.add_argument("--max-session-age", type=float, default=None)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fault-kinds", default="error500,truncated,locked")
    parser.add_argument("--stall-seconds", type=float, default=8.0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--commit-delay", type=float, default=0.0)
    parser.add_argument(
        "--break-every-nth-save", type=int, default=0,
        help="every Nth case save commits, then its answer breaks (0: only random faults)",
    )  # fmt: skip
    parser.add_argument("--page-size", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--next-version",
        action="store_true",
        help="serve Caseflow 5.0: new ids and labels, a new case form layout (UI drift)",
    )
    parser.add_argument(
        "--callers", type=Path, default=None, help="JSON list of other residents to show"
    )
    parser.add_argument("--wrap", type=int, default=0, help="re-wrap shown text at N columns")
    parser.add_argument(
        "--save-later",
        action="store_true",
        help="new cases wait in the session's unsaved work until Save all (lost with it)",
    )
    args = parser.parse_args(argv)
    users = json.loads(os.environ.get(USERS_ENV) or "{}") or None
    config = SandboxConfig(
        store=args.store,
        idle_timeout=args.idle_timeout,
        max_session_age=args.max_session_age,
        fault_rate=args.fault_rate,
        fault_kinds=tuple(k for k in args.fault_kinds.split(",") if k),
        stall_seconds=args.stall_seconds,
        latency=args.latency,
        jitter=args.jitter,
        commit_delay=args.commit_delay,
        break_every_nth_save=args.break_every_nth_save,
        page_size=args.page_size,
        seed=args.seed,
        next_version=args.next_version,
        callers=tuple(json.loads(args.callers.read_text("utf-8"))) if args.callers else (),
        wrap=args.wrap,
        save_later=args.save_later,
        **({"users": users} if users else {}),
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    sandbox = serve_in_thread(config, port=args.port)
    print(f"READY {sandbox.url}", flush=True)
    try:
        stopped.wait()
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
