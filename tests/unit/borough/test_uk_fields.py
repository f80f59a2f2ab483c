"""UK field types: a date that cannot exist is told apart from a date written wrongly."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from borough.uk_fields import UkDate


class Row(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    when: Annotated[UkDate, Field(alias="When")]


def problem(text: str) -> str:
    with pytest.raises(ValidationError) as caught:
        Row.model_validate({"When": text})
    return str(caught.value.errors()[0]["msg"])


def test_a_real_date_is_read_day_first():
    assert Row.model_validate({"When": " 01/02/2026 "}).when == date(2026, 2, 1)
    assert Row.model_validate({"When": "29/02/2028"}).when == date(2028, 2, 29)


@pytest.mark.parametrize("text", ["31/02/2026", "29/02/2026", "31/04/2026", "01/13/2026"])
def test_a_date_that_does_not_exist_says_so(text: str):
    message = problem(text)
    assert "date does not exist" in message
    assert "DD/MM/YYYY" not in message and text not in message  # the value is not echoed


@pytest.mark.parametrize("text", ["2026/02/01x", "1/2/26/7", "31/02/26x"])
def test_a_date_written_another_way_names_the_form(text: str):
    assert "date must be DD/MM/YYYY" in problem(text)
