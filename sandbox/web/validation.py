"""Server-side validation of the case form, as strict and particular as the real thing."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

CLAIM = re.compile(r"^HB\d{6}$")
ACCOUNT = re.compile(r"^CT\d{7}$")
NINO = re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")
POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$")
NAME = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+)*$")
CODES = {"N": "NEW", "C": "CHANGE", "E": "END"}
SCHEME_START = date(2013, 4, 1)
NAME_LIMIT = 35


def account_check_digit(digits: str) -> int | None:
    """Mod-11 check digit of the first six digits (None: such accounts are never issued)."""
    total = sum(int(d) * w for d, w in zip(digits[:6], (7, 6, 5, 4, 3, 2), strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else check


def make_account(number: int) -> str:
    """A valid account number (used by demo data generators): ``CT`` + 6 digits + check."""
    for candidate in range(number, number + 20):
        digits = f"{candidate % 1_000_000:06d}"
        check = account_check_digit(digits)
        if check is not None:
            return f"CT{digits}{check}"
    raise ValueError("no valid account near that number")


def validate_case(
    form: dict[str, str], *, today: date | None = None
) -> tuple[dict[str, Any], list[str]]:
    """(clean fields, messages): the fields are usable only when ``messages`` is empty."""
    today = today or date.today()
    errors: list[str] = []
    clean: dict[str, Any] = {}

    claim = form.get("txtClaimRef", "").strip().upper()
    if not claim:
        errors.append("Claim reference is required.")
    elif not CLAIM.match(claim):
        errors.append("Claim reference must be HB followed by 6 digits.")
    clean["claim_ref"] = claim

    account = form.get("txtCtAcc", "").strip().upper()
    if not ACCOUNT.match(account):
        errors.append("Council Tax account must be CT followed by 7 digits.")
    elif account_check_digit(account[2:]) != int(account[-1]):
        errors.append(f"Council Tax account {account} failed its check digit.")
    clean["account"] = account

    for field, label in (("txtSurname", "Surname"), ("txtForenames", "Forenames")):
        value = " ".join(form.get(field, "").split())
        if not value:
            errors.append(f"{label} is required.")
        elif len(value) > NAME_LIMIT:
            errors.append(f"{label} must be {NAME_LIMIT} characters or fewer.")
        elif not NAME.match(value):
            errors.append(f"{label} may contain letters, spaces, hyphens and apostrophes only.")
        clean[label.lower()] = value

    nino = re.sub(r"\s+", "", form.get("txtNino", "")).upper()
    if not NINO.match(nino):
        errors.append("National Insurance number is not valid.")
    clean["nino"] = nino

    code = form.get("ddlChangeType", "")
    if code not in CODES:
        errors.append("Select a change type.")
    clean["change_type"] = CODES.get(code, "")

    clean["effective_date"] = _effective(form.get("txtEffDate", ""), today, errors)
    clean["weekly_pence"] = _weekly(form.get("txtWeekly", ""), clean["change_type"], errors)

    postcode = " ".join(form.get("txtPostcode", "").upper().split())
    if not POSTCODE.match(postcode):
        errors.append("Postcode is not a valid UK postcode.")
    clean["postcode"] = postcode
    clean["notes"] = form.get("txtNotes", "").strip()[:500]
    return clean, errors


def _effective(raw: str, today: date, errors: list[str]) -> date | None:
    try:
        value = datetime.strptime(raw.strip(), "%d/%m/%Y").date()
    except ValueError:
        errors.append("Effective date must be a real date in the form DD/MM/YYYY.")
        return None
    if value < SCHEME_START:
        errors.append(
            "Effective date is before the Council Tax Reduction scheme began (01/04/2013)."
        )
    elif value > today + timedelta(days=366):
        errors.append("Effective date cannot be more than a year ahead.")
    return value


def _weekly(raw: str, change: str, errors: list[str]) -> int | None:
    text = raw.strip()
    if "£" in text:
        errors.append("Weekly amount must be entered without the £ sign.")
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        errors.append("Weekly amount must be a number, e.g. 12.50.")
        return None
    if amount < 0 or amount > Decimal("999.99") or amount != amount.quantize(Decimal("0.01")):
        errors.append("Weekly amount must be between 0.00 and 999.99 (pounds and pence).")
        return None
    if change == "NEW" and amount == 0:
        errors.append("A NEW award must have a weekly amount above 0.00.")
    if change == "END" and amount != 0:
        errors.append("An END change must have a weekly amount of 0.00.")
    return int(amount * 100)
