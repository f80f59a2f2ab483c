from __future__ import annotations

import pytest

from borough.formulas import csv_safe, looks_like_formula


@pytest.mark.parametrize(
    "text",
    ["=SUM(1", '=HYPERLINK("http://x","y")', "+44 cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text: str):
    assert looks_like_formula(text)
    assert csv_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["Smith", "-12.50", "+7", "12", "", "O'Brien", 12, None])
def test_names_numbers_and_non_text_are_left_alone(value: object):
    assert csv_safe(value) == value
