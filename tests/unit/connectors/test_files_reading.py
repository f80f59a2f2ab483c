"""connectors.files reading: encodings, sheets, limits, damaged files, lazy rows."""

from __future__ import annotations

import datetime
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from borough.config.loader import validate_file
from borough.config.models import BotConfig, InputLimits, InputSpec
from borough.errors import ConfigError, InputError
from borough.inputs import InputFile, resolve_inputs
from connectors.files import read_frame, read_table, sources
from connectors.files.xlsx_guard import check_xlsx
from tests.support import spreadsheets
from tests.support.installs import people, people_csv


class Person(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    ref: str = Field(alias="Ref")
    name: str = Field(alias="Name")
    amount: int = Field(alias="Amount")


def names(path: Path | str, **options: object) -> list[str]:
    return [row.value.name for row in read_table(path, Person, **options) if row.value]


def cp1252_export(tmp_path: Path) -> Path:
    rows = people(2)
    rows[1]["Name"] = "Zoë £5"
    path = tmp_path / "export.csv"
    path.write_bytes(people_csv(rows).encode("cp1252"))
    return path


def test_a_cp1252_export_says_what_to_pass_and_reads_with_it(tmp_path: Path):
    path = cp1252_export(tmp_path)
    with pytest.raises(InputError) as caught:
        names(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: line 3 is not UTF-8 text (byte 0xEB)")
    assert "it reads as Windows-1252 (cp1252): pass encoding='cp1252' to read_table" in message
    assert names(path, encoding="cp1252") == ["Person 1", "Zoë £5"]


def test_an_input_carries_its_encoding_and_names_its_config_file(tmp_path: Path):
    path = cp1252_export(tmp_path)
    config = tmp_path / "config/bots/x.yaml"
    bare = InputFile.of(path, name="csv", declared_in=config)
    with pytest.raises(InputError) as caught:
        names(bare)
    assert f"set `encoding: cp1252` on input 'csv' in {config}, e.g." in str(caught.value)
    given = InputFile.of(path, name="csv", spec=InputSpec(path="x", encoding="cp1252"))
    assert names(given) == ["Person 1", "Zoë £5"]
    assert names(given.parent / given.name, encoding="cp1252")  # derived paths still work


def test_a_wrong_declared_encoding_suggests_the_right_one(tmp_path: Path):
    path = tmp_path / "utf8.csv"
    path.write_text(people_csv([{"Ref": "R1", "Name": "Zoë", "Email": "", "Amount": 1}]), "utf-8")
    path.write_bytes(path.read_bytes() + "R2,Łódź,,2\n".encode())  # Ł is C5 81: no cp1252
    with pytest.raises(InputError) as caught:
        names(path, encoding="cp1252")
    assert "is not Windows-1252 (cp1252) text" in str(caught.value)
    assert "it reads as UTF-8" in str(caught.value)


def test_override_paths_keep_the_declared_options(tmp_path: Path):
    declared = {
        "csv": InputSpec(path="a.csv", encoding="cp1252", sheet="Cases"),
        "b": InputSpec(path="b.csv"),
    }
    inputs = resolve_inputs(tmp_path, declared, {"csv": "/exports/today.csv"})
    csv = inputs["csv"]
    assert isinstance(csv, InputFile) and csv == Path("/exports/today.csv")
    assert (csv.encoding, csv.sheet, csv.input_name) == ("cp1252", "Cases", "csv")
    assert inputs["b"] == tmp_path / "b.csv"
    with pytest.raises(InputError, match="unknown input 'c'"):
        resolve_inputs(tmp_path, declared, {"c": "x.csv"})


def test_an_unknown_encoding_in_config_names_file_and_line(tmp_path: Path):
    file = tmp_path / "x.yaml"
    file.write_text("bot: x\ninputs:\n  csv:\n    path: a.csv\n    encoding: klingon\n")
    with pytest.raises(ConfigError) as caught:
        validate_file(BotConfig, file)
    assert str(caught.value).startswith(f"{file}:5 [inputs.csv.")
    assert "unknown encoding 'klingon'" in str(caught.value)


def test_sheets_by_name_or_position_and_a_missing_one_lists_them(tmp_path: Path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Notes"
    book.active.append(["nothing here"])
    cases = book.create_sheet("Cases")
    cases.append(["Ref", "Name", "Amount"])
    cases.append(["R1", "Zoë", 12.0])
    path = tmp_path / "two.xlsx"
    book.save(path)
    assert names(path, sheet="Cases") == names(path, sheet=1) == ["Zoë"]
    with pytest.raises(InputError) as caught:
        names(path, sheet="Changes")
    assert "no sheet 'Changes'; its sheets are 'Notes', 'Cases'" in str(caught.value)


def test_excel_cells_read_as_the_text_pandas_gave(tmp_path: Path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Int", "Float", "Date", "Bool", "Blank", "Text"])
    book.active.append([12, 8.85, datetime.datetime(2026, 11, 27), True, None, "007"])
    book.active.append([])
    book.active.append([-3.0])
    path = tmp_path / "types.xlsx"
    book.save(path)
    frame = read_frame(path)
    assert frame.to_dict(orient="records") == [
        {"Int": "12", "Float": "8.85", "Date": "2026-11-27 00:00:00", "Bool": "True",
         "Blank": "", "Text": "007"},
        {"Int": "", "Float": "", "Date": "", "Bool": "", "Blank": "", "Text": ""},
        {"Int": "-3", "Float": "", "Date": "", "Bool": "", "Blank": "", "Text": ""},
    ]  # fmt: skip


def test_file_size_and_cell_limits(tmp_path: Path):
    path = tmp_path / "people.csv"
    path.write_text(people_csv(people(30)))
    with pytest.raises(InputError, match=r"over limits.file_mb \(0.0001\)"):
        names(path, limits=InputLimits(file_mb=0.0001))
    with pytest.raises(InputError, match=r"more than limits.cells \(50\)"):
        names(path, limits=InputLimits(cells=50))
    assert len(names(path, limits=InputLimits(cells=200))) == 30


def test_zip_members_are_checked_before_anything_is_parsed(tmp_path: Path):
    good = spreadsheets.people_xlsx(tmp_path / "good.xlsx")
    with pytest.raises(InputError, match=r"holds \d+ files, over limits\.members"):
        check_xlsx(good, InputLimits(members=3), "hint")
    bomb = spreadsheets.zip_bomb(good, tmp_path / "bomb.xlsx", unpacked_mb=3)
    with pytest.raises(InputError, match=r"unpacks to 3 MB, over limits\.unpacked_mb"):
        check_xlsx(bomb, InputLimits(unpacked_mb=2, compression_ratio=10_000), "hint")
    with pytest.raises(InputError, match=r"unpacks \d+ times its packed size.*a zip bomb\?; hint"):
        check_xlsx(bomb, InputLimits(), "hint")


def test_a_style_table_of_millions_is_refused_like_cells(tmp_path: Path):
    good = spreadsheets.people_xlsx(tmp_path / "good.xlsx")
    styled = tmp_path / "styles.xlsx"
    with zipfile.ZipFile(good) as old, zipfile.ZipFile(styled, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "xl/styles.xml":
                data = data.replace(b"</styleSheet>", b"<x/>" * 250_000 + b"</styleSheet>")
            new.writestr(info, data)
    check_xlsx(styled, InputLimits(), "hint")  # within what 10 million cells would need
    with pytest.raises(InputError, match=r"styles.xml holds more XML elements .* \(100\) cells"):
        check_xlsx(styled, InputLimits(cells=100), "hint")


def test_rows_are_lazy_so_rows_before_a_bad_line_are_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(sources, "CSV_CHUNK_ROWS", 10)
    path = tmp_path / "people.csv"
    path.write_text(people_csv(people(30)) + "R0031,too,many,fields,here\n")
    rows = read_table(path, Person)
    taken = [next(rows) for _ in range(20)]
    assert [row.value.ref for row in taken if row.value][-1] == "R0020"
    with pytest.raises(InputError, match="Expected 4 fields in line 32, saw 5"):
        list(rows)


def people_file(where: Path, count: int) -> Path:
    path = where / f"people-{count}.csv"
    path.write_text(people_csv(people(count)))
    return path


def test_a_long_csv_is_decoded_as_it_is_read_not_held_whole(tmp_path: Path):
    """The first rows of a large export come without the file in memory as bytes and as
    text; a byte of another encoding far down still names its line and the encoding."""
    path = people_file(tmp_path, 200_000)
    size = path.stat().st_size
    assert names(people_file(tmp_path, 2)) == ["Person 1", "Person 2"]  # pandas imported
    tracemalloc.start()
    try:
        rows = read_table(path, Person)
        first = [next(rows).value for _ in range(10)]
        _, peak = tracemalloc.get_traced_memory()
        rows.close()
    finally:
        tracemalloc.stop()
    assert first[0] is not None and first[0].ref == "R0001"
    assert peak < size / 2, (peak, size)
    with path.open("ab") as out:
        out.write("R9999,Zoë,,5\n".encode("cp1252"))
    rows = read_table(path, Person)
    assert next(rows).value is not None
    with pytest.raises(InputError, match=r"line 200002 is not UTF-8 text .* Windows-1252"):
        list(rows)


def test_empty_and_header_only_files(tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="not a readable table"):
        names(empty)
    header = tmp_path / "header.csv"
    header.write_text("Ref,Name,Email,Amount\n")
    assert names(header) == []
    missing = tmp_path / "missing.xlsx"
    with pytest.raises(InputError, match="input file not found"):
        names(missing)
