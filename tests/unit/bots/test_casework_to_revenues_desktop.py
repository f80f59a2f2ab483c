"""The casework bot's reading of the report and of the client's grid (no display needed)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from borough.audit.redact import Redactor
from borough.errors import ConfigError, NeedsReviewError, TransientError
from borough.evidence import DownloadFolder, EvidenceStore, FileCipher, SealedFile
from borough_examples.bots.casework_to_revenues_desktop import (
    CaseworkChange,
    CaseworkToRevenuesDesktop,
    Settings,
)
from borough_examples.screens import revenues_client
from borough_examples.screens.caseflow import CaseworkScreens
from connectors.desktop import Anchor
from tests.support.casework import casework_rows, report_csv


class Trail:
    def __init__(self) -> None:
        self.records: list[dict[str, object]] = []

    def emit(self, action: str, **fields: object) -> None:
        self.records.append({"action": action, **fields})


class Ctx:
    """The parts of RunContext that items() uses."""

    def __init__(self, csv: Path | None, root: Path | None = None, **settings: object) -> None:
        self.inputs = {"csv": csv} if csv is not None else {}
        self.settings = Settings.model_validate(settings)
        self.steps: list[tuple[str, dict[str, object]]] = []
        self.apps_opened: list[str] = []
        self.apps_closed: list[str] = []
        self.run_id = "20261123-090000-abc123"
        self.runtime = SimpleNamespace(paths=SimpleNamespace(data=root))
        store = EvidenceStore(root or Path("."), self.run_id, Redactor(), FileCipher(b"k" * 32))
        self.downloads = DownloadFolder(store, Trail())  # type: ignore[arg-type]

    def step(self, step: str, *, target: str | None = None, **detail: object) -> None:
        self.steps.append((step, detail))

    def app(self, name: str, kind: type) -> object:
        self.apps_opened.append(name)
        return object.__new__(kind)

    def close_app(self, name: str) -> None:
        self.apps_closed.append(name)


def test_report_rows_become_items_keyed_by_case_reference(tmp_path: Path):
    rows = casework_rows(3, seed=2)
    rows[0]["Surname"], rows[0]["Forenames"] = "Ó Súilleabháin", "Zoë"
    rows[1]["NI Number"] = "ab 12 34 56 c"
    rows[2]["Weekly Amount"] = "£1,250.00"
    csv = tmp_path / "report.csv"
    csv.write_text(report_csv(rows), encoding="utf-8")  # with a BOM, as the export has
    items = list(CaseworkToRevenuesDesktop().items(Ctx(csv)))  # type: ignore[arg-type]
    assert [item.key for item in items] == [row["Case Reference"] for row in rows]
    first = items[0].data
    assert first is not None and first.surname == "Ó Súilleabháin" and first.forenames == "Zoë"
    assert items[1].data.nino == "AB123456C"
    assert (
        items[2].invalid
        == "report.csv row 4: Weekly Amount: Input should be less than or equal to 1000"
    )


def test_caseflow_and_older_case_references_are_both_taken(tmp_path: Path):
    rows = casework_rows(2, seed=3)
    rows[0]["Case Reference"], rows[1]["Case Reference"] = "CW-000123", "CW-2026-000124"
    csv = tmp_path / "report.csv"
    csv.write_text(report_csv(rows), encoding="utf-8")
    items = list(CaseworkToRevenuesDesktop().items(Ctx(csv)))  # type: ignore[arg-type]
    assert [(item.key, item.invalid) for item in items] == [
        ("CW-000123", None),
        ("CW-2026-000124", None),
    ]


def test_rows_of_other_statuses_are_left_for_a_later_run(tmp_path: Path):
    rows = casework_rows(4, seed=5)
    rows[1]["Status"] = "Draft"
    rows[3]["Status"], rows[3]["NI Number"] = "Draft", "not an NI number"
    csv = tmp_path / "report.csv"
    csv.write_text(report_csv(rows), encoding="utf-8")
    ctx = Ctx(csv, enter_statuses=["Approved"])
    items = list(CaseworkToRevenuesDesktop().items(ctx))  # type: ignore[arg-type]
    # an invalid row is still taken (it fails with its reason); valid drafts wait
    assert [item.key for item in items] == [rows[0]["Case Reference"], rows[2]["Case Reference"],
                                            rows[3]["Case Reference"]]  # fmt: skip
    assert items[2].invalid is not None
    assert ctx.steps == [("report.rows-left", {"rows": 1, "statuses": "Approved"})]


def test_without_a_csv_or_a_report_app_the_run_says_what_to_configure():
    with pytest.raises(ConfigError, match=r"give input csv=FILE or set settings\.report_app"):
        list(CaseworkToRevenuesDesktop().items(Ctx(None)))  # type: ignore[arg-type]


def test_the_report_is_downloaded_into_the_runs_evidence_and_the_browser_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    rows = casework_rows(2, seed=6)
    folders: list[DownloadFolder] = []
    saved: list[SealedFile] = []

    def download(self: CaseworkScreens, folder: DownloadFolder, *, excel: bool = False) -> object:
        folders.append(folder)
        saved.append(folder.save("cases_20261123.csv", report_csv(rows).encode("utf-8")))
        return saved[-1]

    monkeypatch.setattr(CaseworkScreens, "download_report", download)
    ctx = Ctx(None, tmp_path, report_app="casework")
    items = list(CaseworkToRevenuesDesktop().items(ctx))  # type: ignore[arg-type]
    assert [item.key for item in items] == [row["Case Reference"] for row in rows]
    assert folders == [ctx.downloads]
    assert ctx.apps_opened == ctx.apps_closed == ["casework"]
    [report] = saved
    assert b"Case Reference" not in report.path.read_bytes()  # sealed on disk
    assert ctx.steps == [("report.downloaded", {"file": report.relative, "sha256": report.sha256})]
    assert report.relative == f"evidence/{ctx.run_id}/downloads/cases_20261123.csv"

    def refused(self: CaseworkScreens, folder: DownloadFolder, *, excel: bool = False) -> None:
        raise TransientError("the app showed a page instead of a file")

    monkeypatch.setattr(CaseworkScreens, "download_report", refused)
    ctx = Ctx(None, tmp_path, report_app="casework")
    with pytest.raises(TransientError):
        list(CaseworkToRevenuesDesktop().items(ctx))  # type: ignore[arg-type]
    assert ctx.apps_closed == ["casework"], "the browser is closed when the download fails"


def test_a_row_is_typed_as_the_client_shows_it():
    row = casework_rows(1, seed=4)[0] | {"Weekly Amount": "£7.5", "Postcode": "ls1  4ap"}
    change = CaseworkChange.model_validate(row)
    assert change.weekly_amount == Decimal("7.5")
    values = change.client_values()
    assert values.weekly_amount == "£7.50" and values.postcode == "LS1 4AP"
    assert values.effective_date == row["Effective Date"]
    fields = values.fields()
    assert [f.focus for f in fields[:-1]] == [
        "alt+c", "alt+l", "alt+t", "alt+u", "alt+f", "alt+n", "alt+h", "alt+e", "alt+p",
    ]  # fmt: skip
    assert isinstance(fields[-1].focus, Anchor), "weekly amount has no key: it is clicked"


def test_a_stored_item_is_rebuilt_from_the_ledgers_json():
    change = CaseworkChange.model_validate(casework_rows(1, seed=4)[0])
    assert CaseworkChange.model_validate(change.model_dump(mode="json")) == change


class FakeClient:
    """Answers find_case's keystrokes with a prepared grid copy."""

    name = "revenues-desktop"

    def __init__(self, grid: str | None) -> None:
        self.grid, self.pressed, self.entered = grid, [], []

    def home(self) -> None:
        self.pressed.append("home")

    def press(self, *chords: str) -> None:
        self.pressed.extend(chords)

    def enter(self, fields) -> None:
        self.entered.extend(f.value for f in fields)

    def copy(self, *chords: str) -> str | None:
        self.pressed.extend(chords)
        return self.grid


HEADER = "Reference\tCase reference\tAccount\tChange\tEffective\tWeekly\tEntered by"


def test_find_case_reads_the_grid_and_matches_the_whole_reference():
    grid = "\n".join(
        [
            HEADER,
            "REV-000012\tCW-2026-0000123\tCT4400013\tNEW\t01/04/2026\t£1.00\trobot",
            "REV-000011\tCW-2026-000012\tCT4400014\tNEW\t01/04/2026\t£1.00\trobot",
        ]
    )
    client = FakeClient(grid)
    assert revenues_client.find_case(client, "CW-2026-000012") == "REV-000011"  # type: ignore[arg-type]
    assert client.pressed == ["home", "ctrl+f", "enter", "ctrl+c"]
    assert client.entered == ["CW-2026-000012"]
    assert revenues_client.find_case(FakeClient(HEADER), "CW-2026-000012") is None  # type: ignore[arg-type]


def test_find_case_refuses_to_guess():
    twice = "\n".join([HEADER, "REV-1\tCW-1\t\t\t\t\t", "REV-2\tCW-1\t\t\t\t\t"])
    with pytest.raises(NeedsReviewError, match="holds 2 changes for one case reference"):
        revenues_client.find_case(FakeClient(twice), "CW-1")  # type: ignore[arg-type]
    with pytest.raises(TransientError, match="the record grid could not be read"):
        revenues_client.find_case(FakeClient(None), "CW-1")  # type: ignore[arg-type]


def test_the_bot_declares_its_personal_fields_and_its_intent():
    bot = CaseworkToRevenuesDesktop
    assert set(bot.personal) == {"nino", "surname", "forenames", "postcode"}
    assert bot.declares_intent is True
    assert {m.anchor.rsplit("/", 1)[-1] for m in revenues_client.masks("New CTR change")} == {
        "surname_label.png", "forenames_label.png", "nino_label.png", "postcode_label.png",
    }  # fmt: skip
