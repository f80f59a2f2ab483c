"""``python -m sandbox.desktop --db PATH``: start the simulated revenues client."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
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
    parser.add_argument(
        "--callers",
        type=Path,
        default=None,
        help="JSON list of other residents (name, address, nino, email, phone, bank) to list "
        "under the grid, upper-cased and wrapped at --wrap columns",
    )
    parser.add_argument("--wrap", type=int, default=40, help="width of the callers' lines")
    parser.add_argument(
        "--unstorable",
        default="",
        metavar="LETTERS",
        help="letters the change form's code page lacks: typed ones are shown and saved as the "
        "plain letter (ř -> r), a fault for read-back tests",
    )
    return parser.parse_args(argv)


def _callers(path: Path | None, wrap: int) -> tuple[str, ...]:
    if path is None:
        return ()
    shown = []
    for caller in json.loads(path.read_text(encoding="utf-8")):
        text = " ".join(str(caller.get(k, "")) for k in ("name", "address", "nino", "email"))
        text += f" tel {caller.get('phone', '')} bank {caller.get('bank', '')}"
        shown.append("\n".join(textwrap.wrap(text.upper(), max(wrap, 10))))
    return tuple(shown)


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
        callers=_callers(args.callers, args.wrap),
        unstorable=args.unstorable,
    )
    client = RevenuesClient(store, options)
    try:
        client.run()
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
