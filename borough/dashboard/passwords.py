"""What makes a dashboard password acceptable (NCSC guidance: length, and not one of the
passwords attackers try first), checked whenever one is set.

``data/common-passwords.txt.gz`` is the list Django ships (about 20,000 passwords seen in
breaches, compiled by Royce Williams; BSD licence, see ``data/NOTICE``).
"""

from __future__ import annotations

import functools
import gzip
import re
from pathlib import Path

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
COMMON_LIST = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"
_TRAILING = re.compile(r"[\d\W_]+$")


@functools.cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_LIST, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


def problem(password: str, name: str | None = None) -> str | None:
    """What is wrong with ``password`` for the account ``name``, in words; None if nothing."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"a password may have at most {MAX_PASSWORD} characters"
    lowered = password.strip().lower()
    if len(set(lowered)) < 5:
        return "a password needs more than a few different characters"
    if name and len(name) >= 3 and name.lower() in lowered:
        return "a password must not contain the account name"
    common = common_passwords()
    # "Football2024!" is "football" with a number and a mark on the end: just as guessable
    candidates = {lowered, lowered.replace(" ", ""), _TRAILING.sub("", lowered)}
    if candidates & common:
        return (
            "that password is on a list of common passwords that attackers try first: "
            "choose another (three random words make a good one)"
        )
    return None
