"""Invented change-of-circumstance notifications (and seed cases) for demos, tests, benchmarks.

Each generated row says what should become of it: ``valid`` (a case), ``input`` (the
notification itself is malformed) or ``app`` (well-formed, but Caseflow refuses it).
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sandbox.web.store import CaseStore
from sandbox.web.validation import make_account

COLUMNS = (
    "Claim Ref",
    "NI Number",
    "Surname",
    "Forenames",
    "Council Tax Account",
    "Change Type",
    "Effective From",
    "Weekly CTR",
    "Postcode",
)
SURNAMES = ("Smith", "Ó Súilleabháin", "Jones", "Brontë", "Evans", "García", "Wójcik",
            "Taylor", "Åström", "Dubois", "O'Brien", "Nguyen", "Patel", "Ní Bhriain", "Müller",
            "Kowalczyk")  # fmt: skip
FORENAMES = ("Zoë", "Siân", "Mícheál", "Renée", "José", "Łukasz", "Björn", "Chloë", "Amelia",
             "Oliver", "Aoife", "Dafydd", "Noémie", "Eilidh", "Seán", "Priya")  # fmt: skip
POSTCODES = ("LS1 4AP", "M1 1AE", "B33 8TH", "CR2 6XH", "EH1 1YZ", "NE1 7RU", "SW1A 1AA",
             "CF10 1EP", "BT1 5GS", "G2 1DY", "L3 9PP", "BS1 4ST")  # fmt: skip
NI_PREFIXES = ("AB", "CE", "JH", "KL", "MN", "PR", "ST", "WX", "HE", "JT")
#: how a malformed notification or an app-refused one is made, in turn
INPUT_FAULTS = ("bad NI number", "31 February", "missing account")
APP_FAULTS = ("account check digit", "surname too long", "END with an amount")


@dataclass(frozen=True)
class Notification:
    row: dict[str, str]
    expect: str  #: "valid", "input" or "app"
    why: str = ""

    @property
    def key(self) -> str:
        """The bot's item key for a well-formed row (claim:change:ISO date)."""
        day, month, year = self.row["Effective From"].split("/")
        return f"{self.row['Claim Ref']}:{self.row['Change Type']}:{year}-{month}-{day}"


def notifications(
    count: int, *, bad_every: int = 0, seed: int = 0, first_claim: int = 300000
) -> list[Notification]:
    """``count`` rows; every ``bad_every``-th is bad, alternating input and app faults."""
    rng = random.Random(seed)
    rows: list[Notification] = []
    bad = 0
    for index in range(count):
        claim = first_claim + index
        change = ("NEW", "CHANGE", "CHANGE", "END")[index % 4]
        amount = "£0.00" if change == "END" else f"£{rng.randrange(150, 4500) / 100:.2f}"
        digits = f"{claim % 1_000_000:06d}"
        effective = date(2026, 4, 6) + timedelta(days=rng.randrange(0, 200))
        row = {
            "Claim Ref": f"HB{claim:06d}",
            "NI Number": f"{NI_PREFIXES[index % len(NI_PREFIXES)]} {digits[:2]} {digits[2:4]} "
            f"{digits[4:]} {'ABCD'[index % 4]}",
            "Surname": SURNAMES[index % len(SURNAMES)],
            "Forenames": FORENAMES[(index * 7) % len(FORENAMES)],
            "Council Tax Account": make_account(400000 + index * 13),
            "Change Type": change,
            "Effective From": effective.strftime("%d/%m/%Y"),
            "Weekly CTR": amount,
            "Postcode": POSTCODES[index % len(POSTCODES)],
        }
        expect, why = "valid", ""
        if bad_every and (index + 1) % bad_every == 0:
            if bad % 2 == 0:
                expect, why = "input", INPUT_FAULTS[(bad // 2) % len(INPUT_FAULTS)]
            else:
                expect, why = "app", APP_FAULTS[(bad // 2) % len(APP_FAULTS)]
            _spoil(row, why)
            bad += 1
        rows.append(Notification(row, expect, why))
    return rows


def _spoil(row: dict[str, str], why: str) -> None:
    if why == "bad NI number":
        row["NI Number"] = "QQ 12 34 56 Z"
    elif why == "31 February":
        row["Effective From"] = "31/02/2026"
    elif why == "missing account":
        row["Council Tax Account"] = ""
    elif why == "account check digit":
        good = row["Council Tax Account"]
        row["Council Tax Account"] = good[:-1] + str((int(good[-1]) + 1) % 10)
    elif why == "surname too long":
        row["Surname"] = "Featherstonehaugh-Cholmondeley-Marjoribanks"
    elif why == "END with an amount":
        row["Change Type"] = "END"
        row["Weekly CTR"] = "£12.50"


def to_csv(rows: list[Notification]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for item in rows:
        writer.writerow(item.row)
    return out.getvalue()


def seed_case(store: CaseStore, item: Notification, *, status: str, user: str = "jsmith") -> str:
    """Put a case for ``item`` in the app as staff would have (a Draft has no amount)."""
    row = item.row
    day, month, year = (int(p) for p in row["Effective From"].split("/"))
    amount = row["Weekly CTR"].replace("£", "").replace(",", "")
    fields: dict[str, Any] = {
        "claim_ref": row["Claim Ref"],
        "account": row["Council Tax Account"],
        "surname": row["Surname"],
        "forenames": row["Forenames"],
        "nino": row["NI Number"].replace(" ", ""),
        "change_type": row["Change Type"],
        "effective_date": date(year, month, day),
        "weekly_pence": None if status == "Draft" else round(float(amount) * 100),
        "postcode": row["Postcode"],
        "notes": "Keyed from a phone call" if status == "Draft" else "",
    }
    return store.create(fields, user=user, status=status).case_ref


def write_csv(path: Path, rows: list[Notification]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_csv(rows), encoding="utf-8")
    return path
