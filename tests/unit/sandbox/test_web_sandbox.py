"""Caseflow over plain HTTP: its awkward behaviour must be real before a bot is tested on it."""

from __future__ import annotations

import csv
import io
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import date
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from sandbox.web import SandboxConfig, read_counts, serve_in_thread
from sandbox.web.data import notifications, seed_case
from sandbox.web.faults import FaultPlan
from sandbox.web.reports import COLUMNS
from sandbox.web.store import CaseStore
from sandbox.web.validation import make_account, validate_case
from tests.support.web import HandClock

USER, PASSWORD = "bot.casework", "Pw-For-Tests-1"


class Browser:
    """Just enough of a browser: cookies, forms, redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode()
        return self._open(urllib.request.Request(self.base + path, data=data))

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode("utf-8-sig")
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode("utf-8", "replace")

    def token(self, html: str) -> str:
        found = re.search(r'name="__RequestVerificationToken" value="([^"]+)"', html)
        assert found, "page has an anti-forgery token"
        return found.group(1)

    def login(self, password: str = PASSWORD) -> str:
        _, page = self.get("/login")
        _, after = self.post(
            "/login",
            {"__RequestVerificationToken": self.token(page), "txtUser": USER, "txtPwd": password},
        )
        return after


def case_form(token: str, **changes: str) -> dict[str, str]:
    form = {
        "__RequestVerificationToken": token,
        "txtClaimRef": "HB123456",
        "txtCtAcc": make_account(123456),
        "txtSurname": "Ó Súilleabháin",
        "txtForenames": "Zoë",
        "txtNino": "AB 12 34 56 C",
        "ddlChangeType": "C",
        "txtEffDate": "01/05/2026",
        "txtWeekly": "12.50",
        "txtPostcode": "ls1 4ap",
    }
    form.update(changes)
    return form


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
def caseflow(tmp_path: Path, clock: HandClock) -> Iterator[tuple[str, Path]]:
    config = SandboxConfig(
        store=tmp_path / "cf.sqlite", users={USER: PASSWORD}, idle_timeout=1.0, clock=clock
    )
    with serve_in_thread(config) as app:
        yield app.url, config.store


def test_login_needs_the_forms_token_and_the_right_password(caseflow):
    url, store = caseflow
    browser = Browser(url)
    _, _page = browser.get("/login")
    _, forged = browser.post("/login", {"__RequestVerificationToken": "x", "txtUser": USER,
                                         "txtPwd": PASSWORD})  # fmt: skip
    assert "sign-in form had expired" in forged
    assert "Invalid user ID or password" in browser.login(password="wrong")
    assert "<frameset" in browser.login()
    assert read_counts(store)["logins"] == 1


def test_an_idle_session_bounces_to_the_login_page_and_saves_nothing(caseflow, clock):
    url, store = caseflow
    browser = Browser(url)
    browser.login()
    _, form = browser.get("/case/new")
    clock.advance(1.3)
    status, page = browser.post("/case/new", case_form(browser.token(form)))
    assert status == 200 and 'id="loginForm"' in page and "session has ended" in page
    assert read_counts(store)["cases"] == 0


def test_a_saved_case_gets_a_reference_and_a_second_is_refused_as_duplicate(caseflow):
    url, store = caseflow
    browser = Browser(url)
    browser.login()
    _, form = browser.get("/case/new")
    _, saved = browser.post("/case/new", case_form(browser.token(form)))
    assert 'id="saveMsg">Case CW-000001 has been saved.' in saved
    _, again = browser.post("/case/new", case_form(browser.token(form)))
    assert "Duplicate case: CW-000001 already records this CHANGE for claim HB123456" in again
    assert read_counts(store)["cases"] == 1


def test_server_side_validation_lists_every_problem(caseflow):
    url, _ = caseflow
    browser = Browser(url)
    browser.login()
    _, form = browser.get("/case/new")
    bad = case_form(browser.token(form), txtCtAcc="CT1234567", txtWeekly="£12.50",
                    txtSurname="X" * 36, txtEffDate="31/02/2026")  # fmt: skip
    _, page = browser.post("/case/new", bad)
    messages = re.findall(r"<li>(.*?)</li>", page)
    assert messages == [
        "Council Tax account CT1234567 failed its check digit.",
        "Surname must be 35 characters or fewer.",
        "Effective date must be a real date in the form DD/MM/YYYY.",
        "Weekly amount must be entered without the £ sign.",
    ]


def test_validation_rules_on_their_own():
    fields, errors = validate_case(case_form("t", ddlChangeType="E"), today=date(2026, 6, 1))
    assert errors == ["An END change must have a weekly amount of 0.00."]
    assert fields["postcode"] == "LS1 4AP" and fields["nino"] == "AB123456C"
    _, errors = validate_case(case_form("t", txtEffDate="01/01/2013"), today=date(2026, 6, 1))
    assert errors == [
        "Effective date is before the Council Tax Reduction scheme began (01/04/2013)."
    ]


def test_report_download_follows_the_shared_format(caseflow, tmp_path: Path):
    url, store = caseflow
    cases = CaseStore(store)
    rows = notifications(3, seed=1)
    for row in rows:
        seed_case(cases, row, status="Open")
    seed_case(cases, notifications(4, seed=1, first_claim=500000)[3], status="Draft")
    cases.close()
    browser = Browser(url)
    browser.login()
    request = urllib.request.Request(url + "/reports/cases.csv")
    with browser.opener.open(request, timeout=10) as response:
        raw = response.read()
        disposition = response.headers["Content-Disposition"]
    assert raw.startswith("\ufeff".encode()) and b"\r\n" in raw
    assert re.match(r'attachment; filename="cases_\d{8}\.csv"', disposition)
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(table[0]) == COLUMNS
    first = dict(zip(COLUMNS, table[1], strict=True))
    assert first["Surname"] == rows[0].row["Surname"] and first["Forenames"] == "Zoë"
    assert first["Weekly Amount"] == rows[0].row["Weekly CTR"]
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", first["Effective Date"])
    assert first["Change Type"] in ("NEW", "CHANGE", "END")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00", first["Created At"])
    assert table[4][COLUMNS.index("Status")] == "Draft" and table[4][8] == ""


def test_excel_report_has_the_same_columns(caseflow):
    from openpyxl import load_workbook

    url, store = caseflow
    cases = CaseStore(store)
    seed_case(cases, notifications(1, seed=3)[0], status="Open")
    cases.close()
    browser = Browser(url)
    browser.login()
    with browser.opener.open(url + "/reports/cases.xlsx", timeout=10) as response:
        book = load_workbook(io.BytesIO(response.read()), read_only=True)
    rows = list(book["Cases"].iter_rows(values_only=True))
    book.close()
    assert rows[0] == COLUMNS and rows[1][0] == "CW-000001"


def test_search_results_are_paginated(caseflow):
    url, store = caseflow
    cases = CaseStore(store)
    for row in notifications(23, seed=2):
        row.row["Surname"] = "Brontë"
        seed_case(cases, row, status="Open")
    cases.close()
    browser = Browser(url)
    browser.login()
    _, first = browser.get("/search?surname=Bront%C3%AB&go=1")
    _, last = browser.get("/search?surname=Bront%C3%AB&go=1&page=3")
    assert "Page 1 of 3" in first and 'id="lnkNext"' in first
    assert "Page 3 of 3" in last and 'id="lnkNext"' not in last
    assert last.count("cwSelect(") == 3


def test_the_fault_plan_is_repeatable_and_respects_what_can_be_locked():
    def draws(seed: int) -> list[object]:
        plan = FaultPlan(0.5, ("error500", "truncated", "locked"), seed=seed)
        return [plan.draw(save=i % 2 == 0, lockable=i % 2 == 0) for i in range(200)]

    first = draws(5)
    assert first == draws(5) and first != draws(6)
    faults = [f for f in first if f is not None]
    assert 60 < len(faults) < 140
    odd = [f for i, f in enumerate(first) if f is not None and i % 2]
    assert all(f.kind != "locked" and not f.after_commit for f in odd)  # type: ignore[attr-defined]
    assert any(f.after_commit for f in faults)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultPlan(0.1, ("meteor",))


def test_injected_faults_answer_500_or_cut_the_page(tmp_path: Path):
    for kind, check in (
        ("error500", lambda status, page: status == 500 and "Server Error" in page),
        ("truncated", lambda status, page: "cw-footer" not in page and "<html" in page),
        ("locked", lambda status, page: "Record locked" in page),
    ):
        config = SandboxConfig(
            store=tmp_path / f"{kind}.sqlite",
            users={USER: PASSWORD},
            fault_rate=1.0,
            fault_kinds=(kind,),
        )
        with serve_in_thread(config) as app:
            browser = Browser(app.url)
            browser.login()
            _, home = browser.get("/home")
            assert "cw-footer" in home  # frames and home are never faulted
            status, page = browser.post("/case/new", {"x": "1"})
            assert check(status, page), (kind, status, page[-200:])
