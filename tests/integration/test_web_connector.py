"""The web connector in real Chromium against Caseflow: sign-in, faults, tables, downloads,
masked screenshots and browser loss."""

from __future__ import annotations

import csv
import io
import stat
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from borough.audit.redact import Redactor
from borough.connect import AppServices
from borough.errors import BusinessRuleError, ConnectorError, TransientError
from borough.evidence import DownloadFolder, EvidenceStore, FileCipher, SealedFile
from borough.evidence.content import redacted
from connectors.web import WebSession, WebSettings
from sandbox.web import CaseStore, SandboxConfig, read_counts, serve_in_thread
from sandbox.web.data import notifications, seed_case
from sandbox.web.reports import COLUMNS
from tests.support.web import FAST_APP, PASSWORD, ROOT, USER, HandClock, require_chromium

pytestmark = [pytest.mark.browser]


KEY = b"k" * 32


class Trail:
    def emit(self, *args: object, **kwargs: object) -> int:
        return 0


class Session:
    """A WebSession on a fresh Caseflow, with a recorder for audit steps."""

    def __init__(self, tmp: Path, app: dict[str, Any] | None = None, **knobs: Any) -> None:
        self.clock = HandClock()
        self.config = SandboxConfig(
            store=tmp / "cf.sqlite", users={USER: PASSWORD}, clock=self.clock, **knobs
        )
        self.app = serve_in_thread(self.config)
        self.steps: list[str] = []
        self.secret = f"{USER}:{PASSWORD}"
        apps = yaml.safe_load((ROOT / "config" / "apps.yaml").read_text(encoding="utf-8"))
        raw = {**apps["apps"]["casework"], **FAST_APP, **(app or {}), "base_url": self.app.url}
        for key in ("kind", "description", "max_sessions", "identifiers"):
            raw.pop(key, None)
        self.redactor = Redactor()  # what the run's redactor learns from the connector
        services = AppServices(
            secret=lambda name: self.secret,
            capture=lambda *a, **k: None,
            step=lambda step, **detail: self.steps.append(step),
            home=tmp,
            run_folder=tmp,
            keep_out=self.redactor.keep_out,
        )
        self.downloads = DownloadFolder(
            EvidenceStore(tmp / "logs", "20261123-090000-abcdef", Redactor(), FileCipher(KEY)),
            Trail(),  # type: ignore[arg-type]
        )
        self.web = WebSession("casework", WebSettings.model_validate(raw), services)

    def close(self) -> None:
        self.web.close()
        self.app.stop()


@pytest.fixture
def session(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Session]:
    require_chromium()
    marker = request.node.get_closest_marker("caseflow")
    made = Session(tmp_path, **(marker.kwargs if marker else {}))  # app=: connector settings
    yield made
    made.close()


def open_new_form(web: WebSession) -> Callable[[], Any]:
    def step() -> Any:
        content = web.frame("content")
        web.navigate(content, web.frame("nav").locator("#lnkNewCase").click, step="open form")
        return content

    return step


def save_case(web: WebSession, content: Any, account: str) -> str:
    row = notifications(1, seed=8)[0].row
    values = {
        "#txtClaimRef": row["Claim Ref"],
        "#txtCtAcc": account,
        "#txtSurname": "Brontë",
        "#txtForenames": "Zoë",
        "#txtNino": "AB123456C",
        "#txtEffDate": "01/05/2026",
        "#txtWeekly": "12.50",
        "#txtPostcode": "LS1 4AP",
    }
    for selector, value in values.items():
        web.fill(content.locator(selector), value)
    content.locator("#ddlChangeType").select_option("C")
    web.navigate(content, content.locator("#btnSave").click, step="save", validation=True)
    return str(content.locator("#lblCaseRef").inner_text())


@pytest.mark.caseflow(idle_timeout=1.0)
def test_signs_in_again_when_the_session_ended(session: Session):
    web = session.web
    web.run("open form", open_new_form(web))
    session.clock.advance(1.5)
    content = web.run("open form", open_new_form(web))
    assert content.locator("#caseForm").count() == 1
    assert web.sign_ins == 2 and session.steps == ["web.sign-in", "web.sign-in"]


@pytest.mark.caseflow(idle_timeout=1.0)
def test_a_save_after_the_session_ended_is_reported_not_repeated(session: Session):
    web = session.web
    content = web.run("open form", open_new_form(web))
    session.clock.advance(1.5)
    account = notifications(1, seed=8)[0].row["Council Tax Account"]
    with pytest.raises(TransientError, match="session ended"):
        web.run("save", lambda: save_case(web, content, account), repeatable=False)
    assert read_counts(session.config.store)["cases"] == 0
    assert web.sign_ins == 1


def test_validation_messages_become_a_business_rule_error(session: Session):
    web = session.web
    content = web.run("open form", open_new_form(web))
    with pytest.raises(BusinessRuleError, match="CT1234567 failed its check digit"):
        web.run("save", lambda: save_case(web, content, "CT1234567"), repeatable=False)
    assert read_counts(session.config.store)["cases"] == 0


def test_a_refused_credential_stops_with_its_name_not_its_value(session: Session):
    session.secret = f"{USER}:not-the-password"
    with pytest.raises(ConnectorError) as caught:
        session.web.open()
    message = str(caught.value)
    assert "'casework-login'" in message and "Invalid user ID or password" in message
    assert "not-the-password" not in message
    with pytest.raises(ConnectorError, match="refused"):
        session.web.run("open form", open_new_form(session.web))
    assert read_counts(session.config.store)["refused_logins"] == 1, "tried once: no lockout"
    session.secret = "no-colon"
    session.web._refused = None  # an operator fixed the secret for the next run
    session.web.close()
    with pytest.raises(ConnectorError, match="must look like 'username:password'"):
        session.web.open()


@pytest.mark.parametrize(
    ("kind", "message"),
    [("error500", "HTTP 500"), ("truncated", "half-rendered"), ("locked", "Record locked")],
)
def test_app_faults_are_retried_then_reported_as_transient(tmp_path: Path, kind: str, message):
    require_chromium()
    session = Session(tmp_path, fault_rate=1.0, fault_kinds=(kind,))
    try:
        web = session.web
        web.open()
        started = time.monotonic()
        with pytest.raises(TransientError, match=message):
            if kind == "locked":
                content = web.frame("content")
                web.run("open draft", lambda: web.goto("/case/CW-000001/edit", content))
            else:
                web.run("open form", open_new_form(web))
        assert time.monotonic() - started >= 0.05 * (1 + 2)  # two backoffs between 3 tries
        faults = read_counts(session.config.store)["faults"]
        assert faults == {kind: web.settings.attempts}
    finally:
        session.close()


def test_a_stalled_answer_times_out_as_transient(tmp_path: Path):
    require_chromium()
    settings = {"navigation_timeout_seconds": 1.0, "attempts": 1}
    session = Session(tmp_path, app=settings, fault_rate=1.0, fault_kinds=("stall",),
                      stall_seconds=3.0)  # fmt: skip
    try:
        with pytest.raises(TransientError, match="timed out"):
            session.web.run("open form", open_new_form(session.web))
    finally:
        session.close()


def test_paginated_search_results_come_back_as_one_dataframe(session: Session):
    store = CaseStore(session.config.store)
    for row in notifications(23, seed=2):
        row.row["Surname"] = "Brontë"
        seed_case(store, row, status="Open")
    store.close()
    web = session.web

    def search() -> Any:
        window = web.window("search", web.frame("nav").locator("#lnkSearch").click, step="s")
        window.locator("#txtSearchSurname").fill("Brontë")
        web.navigate(window, window.locator("#btnSearch").click, step="search")
        return web.table(window, "#gvResults", next_page="#lnkNext")

    frame = web.run("search", search)
    assert list(frame.columns) == ["Case Ref", "Claim Ref", "Name", "Change", "Effective",
                                   "Weekly", "Status"]  # fmt: skip
    assert len(frame) == 23 and frame["Case Ref"].tolist()[-1] == "CW-000023"
    assert frame["Name"].str.startswith("BRONTË, ").all()
    again = web.run("search", search)  # the window stayed open and is reused
    assert len(again) == 23 and len(web.page.context.pages) == 2


@pytest.mark.parametrize("next_page", ['text="next >>"', 'role=link[name="next >>"]'])
def test_a_pager_known_by_its_text_is_followed_and_never_read_as_a_row(
    session: Session, next_page: str
):
    store = CaseStore(session.config.store)
    for row in notifications(23, seed=3):
        seed_case(store, row, status="Open")
    store.close()
    web = session.web

    def case_list() -> Any:
        content = web.frame("content")
        web.navigate(content, web.frame("nav").locator("#lnkCaseList").click, step="cases")
        return web.table(content, "#gvCases", next_page=next_page)

    frame = web.run("case list", case_list)
    refs = frame["Case Ref"].tolist()
    assert refs == [f"CW-{n:06d}" for n in range(1, 24)]  # 3 pages, no "Page 1 of 3" row
    assert not frame.apply(lambda r: r.str.contains("next >>|Page \\d", regex=True)).any().any()


def test_report_downloads_are_sealed_at_once_under_the_apps_file_name(
    session: Session, monkeypatch: pytest.MonkeyPatch
):
    from connectors.web import downloads

    store = CaseStore(session.config.store)
    for row in notifications(3, seed=4):
        seed_case(store, row, status="Open")
    store.close()
    web = session.web
    browser_copies: list[Path] = []
    real_delete = downloads._delete

    def delete(download: Any) -> None:
        browser_copies.append(Path(download.path()))
        real_delete(download)

    monkeypatch.setattr(downloads, "_delete", delete)

    def download(link: str) -> SealedFile:
        content = web.frame("content")
        web.navigate(content, web.frame("nav").locator("#lnkReports").click, step="reports")
        return web.download(content, content.locator(link).click, session.downloads, step="report")

    csv_file = web.run("report", lambda: download("#lnkReportCsv"))
    assert csv_file.name.startswith("cases_") and csv_file.suffix == ".csv"
    assert csv_file.path.name == csv_file.name
    assert stat.S_IMODE(csv_file.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(csv_file.path.parent.stat().st_mode) == 0o700
    assert b"Case Reference" not in csv_file.path.read_bytes()  # sealed on disk
    table = list(csv.reader(io.StringIO(csv_file.read_bytes().decode("utf-8-sig"))))
    assert tuple(table[0]) == COLUMNS and len(table) == 4
    xlsx_file = web.run("report", lambda: download("#lnkReportXlsx"))
    assert xlsx_file.suffix == ".xlsx" and len(xlsx_file.read_bytes()) > 1000
    assert len(browser_copies) == 2 and not any(p.exists() for p in browser_copies)


@pytest.mark.caseflow(fault_rate=1.0, fault_kinds=("error500",))
def test_a_download_answered_with_an_error_page_is_transient(session: Session, tmp_path: Path):
    web = session.web
    content = web.frame("content")
    web.navigate(content, web.frame("nav").locator("#lnkReports").click, step="reports")
    started = time.monotonic()
    with pytest.raises(TransientError, match="HTTP 500"):
        web.download(
            content, content.locator("#lnkReportCsv").click, session.downloads, step="report"
        )
    assert time.monotonic() - started < web.settings.timeout_seconds


@pytest.mark.caseflow(app={"trace": "full"})
def test_evidence_masks_personal_fields_and_scrubs_the_sign_in(session: Session):
    from PIL import Image

    web = session.web
    content = web.run("open form", open_new_form(web))
    web.fill(content.locator("#txtSurname"), "Brontë")
    box = content.locator("#txtSurname").bounding_box()
    # as the run's evidence store keeps them: text redacted (with what the connector told
    # the run's redactor: the credential, typed values, cookies), traces' images left out
    files = {
        name: redacted(Path(name).suffix, data, session.redactor.redact)
        for name, data, _ in web.failure_evidence()
    }
    assert {"window.png", "window.html", "trace.zip"} <= set(files)
    with zipfile.ZipFile(io.BytesIO(files["trace.zip"])) as archive:  # type: ignore[arg-type]
        members = {n: archive.read(n).decode("utf-8") for n in archive.namelist()}
    assert '"selector":"#txtPwd"' in members["trace.trace"], "the sign-in is in this trace"
    assert "txtPwd" in members["trace.network"], "and so is the sign-in form post"
    for text in members.values():
        assert PASSWORD not in text and "Bront" not in text
    assert "Bront" not in str(files["window.html"])
    image = Image.open(io.BytesIO(files["window.png"])).convert("RGB")  # type: ignore[arg-type]
    assert box is not None
    centre = (int(box["x"] + box["width"] / 2), int(box["y"] + box["height"] / 2))
    assert image.getpixel(centre) == (0, 0, 0), "the surname field is blacked out"
    label = content.locator("label[for=txtSurname]").bounding_box()
    assert label is not None
    assert image.getpixel((int(label["x"]) + 2, int(label["y"] + label["height"] / 2))) != (0, 0, 0)
    image.close()


def test_a_lost_browser_is_started_again(session: Session):
    web = session.web
    web.open()
    web.page.context.browser.close()  # type: ignore[union-attr]
    content = web.run("open form", open_new_form(web))
    assert content.locator("#caseForm").count() == 1
    assert web.sign_ins == 2


@pytest.mark.parametrize("mode", ["actions", "full"])
def test_each_items_trace_holds_that_item_only(tmp_path: Path, mode: str):
    require_chromium()
    session = Session(tmp_path, app={"trace": mode})
    try:
        web = session.web
        for claim in ("HB999001", "HB999002", "HB999003"):
            web.begin_item()
            content = web.run("open form", open_new_form(web))
            web.fill(content.locator("#txtClaimRef"), claim, sensitive=False)
        files = {name: data for name, data, _ in web.failure_evidence()}
        with zipfile.ZipFile(io.BytesIO(files["trace.zip"])) as archive:  # type: ignore[arg-type]
            text = "".join(archive.read(n).decode("utf-8") for n in archive.namelist())
        assert "HB999003" in text and "HB999001" not in text
        if mode == "actions":  # a full trace opens on the pages the previous item left
            assert "HB999002" not in text
    finally:
        session.close()


@pytest.mark.caseflow(fault_rate=1.0, fault_kinds=("error500",))
def test_a_popup_answered_with_http_500_says_so(session: Session):
    web = session.web
    nav = web.frame("nav")
    with pytest.raises(TransientError, match="HTTP 500"):
        web.window("search", nav.locator("#lnkSearch").click, step="search")
    assert len(web.page.context.pages) == 1, "the broken window was closed"
