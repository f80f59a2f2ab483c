"""Pydantic field types for UK council data as exports write it.

NI numbers come with spaces, dates as DD/MM/YYYY, amounts with £ and thousands commas,
postcodes in any spacing and case. Row schemas declare ``nino: Annotated[NiNumber,
Field(alias="NI Number")]`` and get the same cleaning and the same messages everywhere.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator

NINO = re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")


def _ni_number(value: Any) -> str:
    text = re.sub(r"\s+", "", str(value)).upper()
    if not NINO.match(text):
        raise ValueError("not a valid National Insurance number")
    return text


UK_DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")


def _uk_date(value: Any) -> Any:
    """DD/MM/YYYY text; anything else (a real date, ISO text from the ledger) passes on."""
    if isinstance(value, str) and "/" in value:
        text = value.strip()
        try:
            return datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            if UK_DATE.match(text):  # 31/02/2026: the form is right, the day is not
                raise ValueError(
                    "date does not exist (that month has no such day, or no such month)"
                ) from None
            raise ValueError("date must be DD/MM/YYYY") from None
    return value


def _pounds(value: Any) -> Any:
    return str(value).replace("£", "").replace(",", "").strip() if value is not None else value


def _postcode(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().upper()


NiNumber = Annotated[str, BeforeValidator(_ni_number)]
UkDate = Annotated[date, BeforeValidator(_uk_date)]
Pounds = Annotated[Decimal, BeforeValidator(_pounds)]
Postcode = Annotated[str, BeforeValidator(_postcode)]
