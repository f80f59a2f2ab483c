"""The benefits system's CTR export (bots/benefits_to_revenues.py reads it), for tests."""

from __future__ import annotations

import csv
from pathlib import Path

from sandbox.web.data import COLUMNS

FIELDS = list(COLUMNS)  # the benefits export's layout, as the sandbox writes it
GOOD = {
    "Claim Ref": "HB100200",
    "NI Number": "PH 41 40 02 A",
    "Surname": "Smith",
    "Forenames": "Amelia",
    "Council Tax Account": "CT4400000",
    "Change Type": "NEW",
    "Effective From": "27/11/2026",
    "Weekly CTR": "£8.85",
    "Postcode": "LS1 4AP",
}


def numbered(count: int) -> list[dict[str, str]]:
    """``count`` valid rows, each a different claim, person and account."""
    return [
        GOOD
        | {
            "Claim Ref": f"HB{300000 + i}",
            "NI Number": f"PH{i:06d}A",
            "Surname": f"Surname{i}",
            "Council Tax Account": f"CT{4400000 + i}",
        }
        for i in range(count)
    ]


def write_export(home: Path, rows: list[dict[str, str]]) -> Path:
    """The export where the shipped config looks for it (sample-data/ctr_changes.csv)."""
    path = home / "sample-data/ctr_changes.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path
