"""Spreadsheets for tests: an ordinary people.xlsx, and hostile variants built from it."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.support.installs import people

COLUMNS = ["Ref", "Name", "Email", "Amount"]
SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<sheetData>"
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>Ref</t></is></c>'
    b'<c r="B1" t="inlineStr"><is><t>Name</t></is></c>'
    b'<c r="C1" t="inlineStr"><is><t>Email</t></is></c>'
    b'<c r="D1" t="inlineStr"><is><t>Amount</t></is></c></row>'
)
SHEET_TAIL = b"</sheetData></worksheet>"


def people_xlsx(path: Path, rows: list[dict[str, Any]] | None = None) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(COLUMNS)
    for row in rows if rows is not None else people(5):
        sheet.append([row[c] for c in COLUMNS])
    book.save(path)
    return path


def with_sheet(source: Path, target: Path, body: Iterable[bytes]) -> Path:
    """``source`` with its first sheet's rows replaced by ``body`` (streamed, never whole)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename != SHEET:
                new.writestr(info, old.read(info))
                continue
            member = zipfile.ZipInfo(SHEET, date_time=info.date_time)
            member.compress_type = zipfile.ZIP_DEFLATED
            with new.open(member, "w", force_zip64=True) as out:
                out.write(SHEET_HEAD)
                for chunk in body:
                    out.write(chunk)
                out.write(SHEET_TAIL)
    return target


def zip_bomb(source: Path, target: Path, unpacked_mb: int) -> Path:
    """A workbook whose sheet unpacks to ``unpacked_mb`` of blank rows from ~1 MB on disk."""
    blank_rows = b"<row/>" * (1024 * 1024 // 6)
    return with_sheet(source, target, (blank_rows for _ in range(unpacked_mb)))


def wide_row(cells: int) -> Iterable[bytes]:
    """One row of ``cells`` cells with distinct values, so it compresses like real data."""
    yield b'<row r="2">'
    for i in range(cells):
        yield b'<c r="A2"><v>%d</v></c>' % (i * 7919 % 1_000_003)
    yield b"</row>"


def rows_then_a_broken_one(good: int) -> Iterable[bytes]:
    """``good`` people rows, then a row whose cell points at a shared string that is not
    there: well-formed XML that only fails when the row is read."""
    for i in range(2, good + 2):
        yield (
            b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>R%04d</t></is></c>'
            b'<c r="B%d" t="inlineStr"><is><t>Person %d</t></is></c><c r="D%d"><v>%d</v></c></row>'
            % (i, i, i, i, i, i, i)
        )
    row = good + 2
    yield b'<row r="%d"><c r="A%d" t="s"><v>99999</v></c></row>' % (row, row)


def far_row(number: int) -> Iterable[bytes]:
    yield b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>R9999</t></is></c></row>' % (
        number,
        number,
    )


def doctype(source: Path, target: Path) -> Path:
    """A workbook whose sheet declares entities (the billion laughs of XML)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == SHEET:
                dtd = b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
                data = data.replace(b"<worksheet", dtd + b"<worksheet", 1)
            new.writestr(info, data)
    return target
