"""Ranking what is on a web screen against what a broken locator used to find (no browser)."""

from __future__ import annotations

from typing import Any

from connectors.web.drift import _rank, guess, score


def element(role: str, name: str, id_: str, index: int, **more: Any) -> dict[str, Any]:
    return {
        "tag": more.get("tag", "input"),
        "type": more.get("type", ""),
        "id": id_,
        "name_attr": more.get("name_attr", id_),
        "role": role,
        "name": name,
        "text": "",
        "href": more.get("href", ""),
        "path": f"#{id_}",
        "index": index,
    }


#: what the 4.2 case form's fields looked like when they matched (the baseline)
BEFORE = {
    ("form", "claim reference"): element("textbox", "Claim reference", "txtClaimRef", 0),
    ("form", "ni number"): element("textbox", "NI number", "txtNino", 4),
    ("form", "forenames"): element("textbox", "Forenames", "txtForenames", 3),
    ("form", "save"): element("button", "Save", "btnSave", 0, type="submit"),
}
#: the 5.0 form: every id and most labels changed, fields regrouped and reordered
AFTER = [
    element("button", "Save case", "saveCase", 0, type="submit"),
    element("link", "Cancel", "cancelCase", 0, tag="a", href="/home"),
    element("textbox", "Surname", "surname", 0),
    element("textbox", "First names", "firstNames", 1),
    element("textbox", "National Insurance number", "niNumber", 2),
    element("textbox", "Postcode", "postcode", 3),
    element("textbox", "Claim number", "claimNumber", 4),
    element("textbox", "Council Tax account number", "ctAccount", 5),
]


def test_each_broken_field_gets_its_own_best_match_even_where_letters_mislead():
    broken = [
        ("claim reference", "#txtClaimRef", 0),
        ("ni number", "#txtNino", 0),
        ("forenames", "#txtForenames", 0),
        ("save", "#btnSave", 0),
    ]
    ranked = {element: c for element, _, c in _rank("form", broken, AFTER, BEFORE)}
    firsts = {element: candidates[0][1]["id"] for element, candidates in ranked.items()}
    assert firsts == {
        "claim reference": "claimNumber",
        "ni number": "niNumber",  # not "Claim number", which shares more letters
        "forenames": "firstNames",
        "save": "saveCase",
    }
    taken = {c[0][1]["id"] for c in ranked.values()}
    for candidates in ranked.values():
        others = [pair[1]["id"] for pair in candidates[1:]]
        assert not taken.intersection(others), "another element's match is not offered again"


def test_a_different_role_counts_for_half():
    save = BEFORE[("form", "save")]
    as_link = {**AFTER[0], "role": "link"}
    assert score(save, as_link) < score(save, AFTER[0]) / 1.9


def test_without_a_baseline_the_declaration_is_read_for_role_and_words():
    assert guess("claim reference", "#txtClaimRef") == {
        "name": "claim reference",
        "guess": True,
        "id": "txtClaimRef",
        "role": "textbox",
    }
    assert guess("save", 'role=button[name="Save"s]')["role"] == "button"
    assert guess("surname", "label=Surname")["name"] == "Surname"
    near = guess("claim reference", "#txtClaimRef")
    assert score(near, AFTER[6]) > score(near, AFTER[2])
