"""The revenues client's validation rules (pure functions, no Tk), as its server applies them.

Messages never repeat the value entered: they end up in logs of the robots that drive the app.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

FIELDS = (
    "case_ref",
    "claim_ref",
    "account",
    "surname",
    "forenames",
    "nino",
    "change_type",
    "effective_date",
    "postcode",
    "weekly_amount",
)
LABELS = {
    "case_ref": "Case reference",
    "claim_ref": "Claim reference",
    "account": "Council Tax account",
    "surname": "Surname",
    "forenames": "Forenames",
    "nino": "NI number",
    "change_type": "Change type",
    "effective_date": "Effective date",
    "postcode": "Postcode",
    "weekly_amount": "Weekly amount (£)",
}
#: The entry widgets silently cut longer text, as the old client does.
MAX_LENGTH = {"surname": 30, "forenames": 40}
SCHEME_START = date(2013, 4, 1)
SCHEME_MAXIMUM = Decimal("400.00")

#: the casework system's references: CW-000123 (Caseflow) or the older CW-2026-000123
_CASE = re.compile(r"^CW-(?:\d{4}-)?\d{6}$")
_CLAIM = re.compile(r"^HB\d{6}$")
_ACCOUNT = re.compile(r"^CT\d{7}$")
_NINO = re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$")
_AMOUNT = re.compile(r"^£?(\d{1,4})\.(\d{2})$")
CHANGE_TYPES = ("NEW", "CHANGE", "END")


def parse_amount(text: str) -> Decimal | None:
    """'£12.50' or '12.50' -> Decimal('12.50'); anything else -> None."""
    match = _AMOUNT.match(text.strip())
    if not match:
        return None
    try:
        return Decimal(f"{match.group(1)}.{match.group(2)}")
    except InvalidOperation:
        return None


def parse_date(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


def problems(values: dict[str, str]) -> list[tuple[str, str]]:
    """(field, message) for every rule the values break, in form order."""
    found: list[tuple[str, str]] = []

    def check(field: str, ok: bool, message: str) -> None:
        if not values.get(field, "").strip():
            found.append((field, f"{LABELS[field]} is required."))
        elif not ok:
            found.append((field, message))

    v = {k: values.get(k, "").strip() for k in FIELDS}
    check(
        "case_ref",
        bool(_CASE.match(v["case_ref"])),
        "Case reference must look like CW-000123 or CW-2026-000123.",
    )
    check(
        "claim_ref", bool(_CLAIM.match(v["claim_ref"])), "Claim reference must be HB and 6 digits."
    )
    check(
        "account",
        bool(_ACCOUNT.match(v["account"])),
        "Council Tax account must be CT and 7 digits.",
    )
    check("surname", True, "")
    check("forenames", True, "")
    check(
        "nino", bool(_NINO.match(v["nino"])), "NI number is not a valid National Insurance number."
    )
    check(
        "change_type", v["change_type"] in CHANGE_TYPES, "Change type must be NEW, CHANGE or END."
    )
    when = parse_date(v["effective_date"])
    check("effective_date", when is not None, "Effective date must be a real date, DD/MM/YYYY.")
    if when is not None and when < SCHEME_START:
        found.append(("effective_date", "Effective date is before the scheme began (01/04/2013)."))
    check("postcode", bool(_POSTCODE.match(v["postcode"])), "Postcode is not a valid UK postcode.")
    amount = parse_amount(v["weekly_amount"])
    check(
        "weekly_amount", amount is not None, "Weekly amount must be pounds and pence, like £12.50."
    )
    if amount is not None and amount > SCHEME_MAXIMUM:
        found.append(("weekly_amount", "Weekly amount is above the scheme maximum of £400.00."))
    return found


def normalise(values: dict[str, str]) -> dict[str, str]:
    """The values as the store keeps them (amount as £0.00)."""
    clean = {k: values.get(k, "").strip() for k in FIELDS}
    amount = parse_amount(clean["weekly_amount"])
    if amount is not None:
        clean["weekly_amount"] = f"£{amount:.2f}"
    return clean
