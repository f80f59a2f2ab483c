"""``python -m sandbox.desktop --db PATH``: start the simulated revenues client."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sandbox.desktop.forms import NEXT_TITLE
from sandbox.desktop.main_window import Options, RevenuesClient
from sandbox.desktop.store import Store

#: Used when the password variable is unset. A sandbox default, documented, never a real one.
DEFAULT_PASSWORD = "Sandbox-£2026!"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.desktop", description=__doc__)
    parser.add_argument("--db", type=Path, required=True, help="SQLite file of the client's data")
    parser.add_argument("--user", default="robot", help="the one user allowed to sign in")
    parser.add_argument(
        "--password-env",
        default="REVENUES_SANDBOX_PASSWORD",
        help=f"environment variable holding that user's password (default {DEFAULT_PASSWORD!r})",
    )
    parser.add_argument(
        "--lock-rate", type=float, default=0.0, help="chance that a save finds the record locked"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for the lock faults")
    parser.add_argument("--save-delay-ms", type=int, default=0, help="server time per save")
    parser.add_argument(
        "--next-version",
        action="store_true",
        help=f"the client's next release: the change form is titled {NEXT_TITLE!r} (UI drift)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if not 0.0 <= args.lock_rate <= 1.0:
        print("--lock-rate must be between 0 and 1", file=sys.stderr)
        return 2
    if not os.environ.get("DISPLAY"):
        print("no DISPLAY: start an X server (or Xvfb) first", file=sys.stderr)
        return 2
    store = Store(args.db)
    options = Options(
        user=args.user,
        password=os.environ.get(args.password_env) or DEFAULT_PASSWORD,
        lock_rate=args.lock_rate,
        seed=args.seed,
        save_delay_ms=args.save_delay_ms,
        next_version=args.next_version,
    )
    client = RevenuesClient(store, options)
    try:
        client.run()
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
