"""The simulated revenues client's rules and store, without its windows."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.desktop import rules
from sandbox.desktop.store import Duplicate, Store

GOOD = {
    "case_ref": "CW-2026-000123",
    "claim_ref": "HB100200",
    "account": "CT4400000",
    "surname": "Ó Súilleabháin",
    "forenames": "Zoë",
    "nino": "AB123456C",
    "change_type": "NEW",
    "effective_date": "01/04/2026",
    "postcode": "LS1 4AP",
    "weekly_amount": "£12.5",
}


def test_good_values_pass_and_the_amount_is_kept_as_pounds():
    assert rules.problems({**GOOD, "weekly_amount": "£12.50"}) == []
    assert rules.problems({**GOOD, "weekly_amount": "12.50"}) == []
    assert rules.normalise({**GOOD, "weekly_amount": "12.50"})["weekly_amount"] == "£12.50"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nino", "QQ123456X", "NI number is not a valid National Insurance number."),
        ("effective_date", "31/02/2026", "Effective date must be a real date, DD/MM/YYYY."),
        ("effective_date", "31/03/2013", "Effective date is before the scheme began (01/04/2013)."),
        ("weekly_amount", "£400.01", "Weekly amount is above the scheme maximum of £400.00."),
        ("change_type", "AMEND", "Change type must be NEW, CHANGE or END."),
        ("surname", " ", "Surname is required."),
    ],
)
def test_each_rule_names_the_field_never_the_value(field: str, value: str, message: str):
    values = {**GOOD, "weekly_amount": "£12.50", field: value}
    assert rules.problems(values) == [(field, message)]
    assert value.strip() not in message or not value.strip()


def test_the_store_numbers_changes_and_refuses_a_case_twice(tmp_path: Path):
    store = Store(tmp_path / "client.sqlite")
    try:
        values = rules.normalise({**GOOD, "weekly_amount": "£12.50"})
        assert store.save(values, "robot") == "REV-000001"
        with pytest.raises(Duplicate, match="REV-000001"):
            store.save(values, "robot")
        assert store.save({**values, "case_ref": "CW-2026-000124"}, "robot") == "REV-000002"
        assert [row[:2] for row in store.search("000123")] == [("REV-000001", "CW-2026-000123")]
        assert len(store.search("")) == 2
    finally:
        store.close()
