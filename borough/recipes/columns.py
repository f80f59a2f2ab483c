"""A recipe's ``columns:``: each column's type and rules, turned into a row model.

The types are the project's own (``borough.uk_fields``) plus plain ones, so a recipe
validates rows exactly as a Python bot's pydantic model would, with the same messages.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from borough.uk_fields import NiNumber, Postcode, Pounds, UkDate

#: ``type:`` of a column -> the Python type rows are validated as
TYPES: dict[str, Any] = {
    "text": str,
    "integer": int,
    "decimal": Decimal,
    "date": date,  # ISO 2026-11-23
    "datetime": datetime,
    "uk_date": UkDate,  # 23/11/2026
    "pounds": Pounds,  # £1,234.50
    "ni_number": NiNumber,
    "postcode": Postcode,
    "choice": str,  # one of `values:`
}


class Column(BaseModel):
    """One column of the input, as the recipe's ``columns:`` declares it."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    column: str = Field(min_length=1, description="the header in the CSV or Excel sheet")
    type: Literal[
        "text",
        "integer",
        "decimal",
        "date",
        "datetime",
        "uk_date",
        "pounds",
        "ni_number",
        "postcode",
        "choice",
    ] = "text"
    required: bool = True
    pattern: str | None = None
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)
    min: Decimal | None = None
    max: Decimal | None = None
    values: list[str] | None = Field(default=None, min_length=1, description="for type: choice")
    personal: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{1,40}$",
        description="its data category (name, address, ...): tokenised and redacted",
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        import re

        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression: {exc}") from None
        return value

    def field_type(self) -> Any:
        base: Any = TYPES[self.type]
        if self.type == "choice":
            if not self.values:
                raise ValueError("a choice column lists its values: values: [A, B]")
            base = Literal[tuple(self.values)]
        constraints: dict[str, Any] = {"alias": self.column}
        if self.pattern is not None:
            constraints["pattern"] = self.pattern
        if self.min_length is not None:
            constraints["min_length"] = self.min_length
        if self.max_length is not None:
            constraints["max_length"] = self.max_length
        if self.min is not None:
            constraints["ge"] = self.min
        if self.max is not None:
            constraints["le"] = self.max
        if self.required:
            return (Annotated[base, Field(**constraints)], ...)
        return (Annotated[base | None, Field(**constraints)], None)


def row_model(bot: str, columns: dict[str, Column]) -> type[BaseModel]:
    """A frozen pydantic model of one row (fields by name, columns as aliases)."""
    fields = {name: column.field_type() for name, column in columns.items()}
    model: type[BaseModel] = create_model(
        f"RecipeRow_{bot.replace('-', '_')}",
        __config__=ConfigDict(populate_by_name=True, hide_input_in_errors=True, frozen=True),
        **fields,
    )
    return model
