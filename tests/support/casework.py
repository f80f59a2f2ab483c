"""Casework reports (the web casework system's CSV export) for desktop bot tests."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

COLUMNS = [
    "Case Reference",
    "Claim Reference",
    "Council Tax Account",
    "Surname",
    "Forenames",
    "NI Number",
    "Change Type",
    "Effective Date",
    "Weekly Amount",
    "Postcode",
    "Status",
    "Created At",
]
SURNAMES = [
    "Ó Súilleabháin",
    "Brontë",
    "Nuñez",
    "Øvergård",
    "Dvořák",
    "Łukasiewicz",
    "Müller",
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Davies",
    "Evans",
    "Ní Bhriain",
    "Le Blanc",
    "O'Neill",
    "Ahmed",
    "Okafor",
    "Van der Berg",
    "Şahin",
    "Fernández",
    "Kowalczyk",
]
FORENAMES = [
    "Zoë",
    "Siân",
    "Chloé",
    "Bríd",
    "Renée",
    "José",
    "Seán",
    "Anaïs",
    "Þóra",
    "Oliver",
    "Amelia",
    "Jack",
    "Mary-Jane",
    "Émile",
    "Gráinne",
    "Noémie",
    "Dóra",
    "Aoife",
]
POSTCODES = ["LS1 4AP", "CR2 6XH", "M1 1AE", "B33 8TH", "SW1A 1AA", "EH1 1YZ", "CF10 3AT"]
NINO_PREFIXES = ["AB", "CE", "HJ", "PR", "TW", "JM", "KL", "RS"]


def casework_rows(count: int, *, seed: int = 1, start: int = 1) -> list[dict[str, str]]:
    """``count`` valid report rows with £ amounts and accented names (deterministic)."""
    rng = random.Random(seed)
    created = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    rows = []
    for i in range(start, start + count):
        pence = rng.randint(100, 39999)
        rows.append(
            {
                "Case Reference": f"CW-2026-{i:06d}",
                "Claim Reference": f"HB{100000 + i * 7:06d}",
                "Council Tax Account": f"CT{4400000 + i * 13:07d}",
                "Surname": SURNAMES[(i + seed) % len(SURNAMES)],
                "Forenames": FORENAMES[(i * 3 + seed) % len(FORENAMES)],
                "NI Number": f"{NINO_PREFIXES[i % len(NINO_PREFIXES)]}{rng.randint(0, 999999):06d}"
                f"{'ABCD'[i % 4]}",
                "Change Type": ["NEW", "CHANGE", "END"][i % 3],
                "Effective Date": (date(2026, 4, 1) + timedelta(days=i * 3)).strftime("%d/%m/%Y"),
                "Weekly Amount": f"£{pence // 100}.{pence % 100:02d}",
                "Postcode": POSTCODES[i % len(POSTCODES)],
                "Status": "Approved",
                "Created At": (created + timedelta(minutes=i * 17)).isoformat(),
            }
        )
    return rows


def report_csv(rows: list[dict[str, Any]], *, bom: bool = True) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" if bom else "") + out.getvalue()
