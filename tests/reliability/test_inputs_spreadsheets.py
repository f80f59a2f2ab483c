"""Hostile and broken input files through a real `borough run`, capped at 1 GB and 90 s:
each is refused with an InputError naming the file (and the setting that would fix it),
the run exits 3, nothing is a traceback, and rows taken before a bad one stay recorded.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from borough.cli.exitcodes import ExitCode
from borough.ledger import ItemState
from borough.testing import home_env, runtime_in
from tests.support import spreadsheets
from tests.support.installs import counting_home, people, people_csv
from tests.support.limits import run_capped

BOT = "counting-bot"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return counting_home(tmp_path / "home", people(3))


def run(home: Path, path: Path) -> tuple[int, str]:
    done = run_capped(
        ["run", BOT, "-q", "--input", f"csv={path}"], home_env(home), memory_mb=1024, timeout=90
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout + done.stderr


def refused(home: Path, path: Path, *words: str) -> str:
    code, output = run(home, path)
    assert code == ExitCode.ERROR, output
    assert str(path) in output, output
    for word in words:
        assert word in output, output
    return output


def test_a_zip_bomb_is_refused_before_it_is_parsed(home: Path, tmp_path: Path):
    good = spreadsheets.people_xlsx(tmp_path / "good.xlsx")
    bomb = spreadsheets.zip_bomb(good, tmp_path / "bomb.xlsx", unpacked_mb=600)
    assert bomb.stat().st_size < 2 * 1024 * 1024  # about the size of the one in the report
    refused(home, bomb, "unpacks", "a zip bomb?", "limits:")


@pytest.mark.parametrize(
    ("name", "body", "words"),
    [
        ("wide", spreadsheets.wide_row(20_000), "more than 16384 cells"),
        ("far", spreadsheets.far_row(2_000_000_000), "past Excel's last row"),
    ],
)
def test_sheets_that_would_make_the_parser_build_millions_are_refused(
    home: Path, tmp_path: Path, name: str, body, words: str
):
    good = spreadsheets.people_xlsx(tmp_path / "good.xlsx")
    hostile = spreadsheets.with_sheet(good, tmp_path / f"{name}.xlsx", body)
    refused(home, hostile, words)


def test_xml_entities_are_refused(home: Path, tmp_path: Path):
    good = spreadsheets.people_xlsx(tmp_path / "good.xlsx")
    refused(home, spreadsheets.doctype(good, tmp_path / "dtd.xlsx"), "DOCTYPE")


def test_truncated_and_corrupt_workbooks_name_the_file(home: Path, tmp_path: Path):
    good = spreadsheets.people_xlsx(tmp_path / "good.xlsx", people(200))
    data = good.read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(data[: len(data) // 2])
    refused(home, truncated, "truncated or damaged")
    corrupt = tmp_path / "corrupt.xlsx"
    damaged = bytearray(data)
    rng = random.Random(11)
    sheet_at = data.index(b"xl/worksheets/sheet1.xml") + 60  # inside the sheet's deflate data
    for offset in rng.sample(range(sheet_at, sheet_at + 400), 40):
        damaged[offset] ^= 0xFF
    corrupt.write_bytes(bytes(damaged))
    refused(home, corrupt, "Excel workbook")
    not_a_zip = tmp_path / "report.xlsx"
    not_a_zip.write_text("Ref,Name\nR1,Person\n")
    refused(home, not_a_zip, "truncated or damaged")


def set_input(home: Path, spec: dict[str, object]) -> Path:
    file = home / "config/bots/counting-bot.yaml"
    config = yaml.safe_load(file.read_text("utf-8"))
    config["inputs"]["csv"] = spec
    file.write_text(yaml.safe_dump(config), "utf-8")
    return file


def test_cp1252_csv_names_the_setting_then_reads_with_it(home: Path):
    rows = people(3)
    rows[1]["Name"] = "Zoë Ó Súilleabháin £5"
    export = home / "input/people.csv"
    export.write_bytes(people_csv(rows).encode("cp1252"))
    config = home / "config/bots/counting-bot.yaml"
    code, output = run(home, export)
    assert code == ExitCode.ERROR, output
    assert f"{export}: line 3 is not UTF-8 text (byte 0xEB)" in output
    assert f"set `encoding: cp1252` on input 'csv' in {config}" in output
    set_input(home, {"path": "input/people.csv", "encoding": "cp1252"})
    code, output = run(home, export)
    assert code == ExitCode.OK, output
    with runtime_in(home) as runtime:
        items = runtime.ledger.items.list(bot=BOT, states=[ItemState.DONE])
        names = {runtime.ledger.items.get(i.id, unseal=True).data["name"] for i in items}
    assert "Zoë Ó Súilleabháin £5" in names


def test_rows_before_a_broken_row_stay_recorded(home: Path, tmp_path: Path):
    good = spreadsheets.people_xlsx(tmp_path / "good.xlsx")
    broken = spreadsheets.with_sheet(
        good, tmp_path / "broken.xlsx", spreadsheets.rows_then_a_broken_one(9)
    )
    code, output = run(home, broken)
    assert code == ExitCode.ERROR, output
    assert f"{broken}: row 11 of sheet 'Sheet' cannot be read" in output
    with runtime_in(home) as runtime:
        taken = runtime.ledger.items.list(bot=BOT)
    assert len(taken) == 9 and all(item.state is ItemState.PENDING for item in taken)


def test_a_council_raises_a_limit_for_one_input(home: Path, tmp_path: Path):
    book = spreadsheets.people_xlsx(tmp_path / "many.xlsx", people(20))
    config = set_input(home, {"path": str(book), "limits": {"cells": 40}})
    code, output = run(home, book)
    assert code == ExitCode.ERROR and "limits.cells (40)" in output, output
    assert f"raise that limit under `limits:` of input 'csv' in {config}" in output.replace(
        "\n", ""
    )
    set_input(home, {"path": str(book), "limits": {"cells": 1000}})
    code, output = run(home, book)
    assert code == ExitCode.OK, output
    with runtime_in(home) as runtime:
        assert len(runtime.ledger.items.list(bot=BOT, states=[ItemState.DONE])) == 20
