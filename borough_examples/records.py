"""The records the example bots share: a Council Tax Reduction change as the benefits
system exports it, and which of its fields are personal data.

Bots import these (and the app screens in :mod:`borough_examples.screens`), never each
other: each bot module stays one example to read and copy on its own.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from borough.uk_fields import NiNumber, Postcode, Pounds, UkDate

#: the personal fields of a CTR change and their data categories (tokenised in the trail);
#: the casework bots' rows carry the same fields
PERSONAL: dict[str, str] = {
    "nino": "national_insurance_number",
    "surname": "name",
    "forenames": "name",
    "postcode": "address",
}


class CtrChange(BaseModel):
    """One row of the benefits system's ``ctr_changes`` export."""

    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True, frozen=True)

    claim_ref: Annotated[str, Field(alias="Claim Ref", pattern=r"^HB\d{6}$")]
    nino: Annotated[NiNumber, Field(alias="NI Number")]
    surname: Annotated[str, Field(alias="Surname", min_length=1, max_length=60)]
    forenames: Annotated[str, Field(alias="Forenames", min_length=1, max_length=60)]
    account: Annotated[str, Field(alias="Council Tax Account", pattern=r"^CT\d{7}$")]
    change: Annotated[Literal["NEW", "CHANGE", "END"], Field(alias="Change Type")]
    effective_from: Annotated[UkDate, Field(alias="Effective From")]
    weekly_amount: Annotated[Pounds, Field(alias="Weekly CTR", ge=0, le=1000, decimal_places=2)]
    postcode: Annotated[Postcode, Field(alias="Postcode", min_length=5, max_length=8)]

    @property
    def key(self) -> str:
        """One change to one claim from one date is one import row."""
        return f"{self.claim_ref}:{self.change}:{self.effective_from.isoformat()}"
