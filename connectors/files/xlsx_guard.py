"""Refuse a spreadsheet that would cost more than it is worth, before openpyxl opens it.

An .xlsx file is a zip of XML. Small on disk, it can unpack to gigabytes (a zip bomb), or
hold XML that makes a parser build millions of objects: one row of millions of cells, a
style table of millions of entries, a row numbered in the billions. So the zip's table
of contents is checked first (member count, unpacked size, compression ratio), then
every XML member is scanned with expat, which builds nothing: it counts elements, cells
per row and row numbers, and stops at the first limit crossed.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import IO

from borough.config.models import InputLimits
from borough.errors import InputError

MB = 1024 * 1024
RATIO_CHECKED_FROM = 1 * MB  # small members compress very well and harm no one
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
ELEMENTS_PER_CELL = 3  # <c><v/></c>, or <c><is><t/></is></c>: the rest is small change
EXTRA_ELEMENTS = 200_000  # styles, shared strings, relationships of a normal workbook
_CHUNK = 64 * 1024
#: what a truncated or damaged zip, or a bad member, raises while it is read
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


class Refused(Exception):
    """A limit was crossed; the message says which and how to raise it."""


def check_xlsx(
    path: Path | IO[bytes], limits: InputLimits, hint: str, *, name: Path | None = None
) -> None:
    """Raise :class:`InputError` naming the file (``name``, else ``path``) if the workbook
    is damaged or too large."""
    label = name if name is not None else path
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(archive, limits)
            budget = limits.cells * ELEMENTS_PER_CELL + EXTRA_ELEMENTS
            for info in archive.infolist():
                if info.filename.endswith((".xml", ".rels", ".vml")):
                    with archive.open(info) as member:
                        budget -= _scan_xml(member, info.filename, budget, limits)
    except Refused as exc:
        raise InputError(f"{label}: {exc}; {hint}") from None
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise InputError(
            f"{label}: not a readable Excel workbook, the file is truncated or damaged ({exc}); "
            "export it again"
        ) from None


def _check_members(archive: zipfile.ZipFile, limits: InputLimits) -> None:
    members = archive.infolist()
    if len(members) > limits.members:
        raise Refused(f"the workbook holds {len(members)} files, over limits.members")
    unpacked = 0
    for info in members:
        if info.flag_bits & 0x1:
            raise Refused(f"{info.filename} is encrypted: save the workbook without a password")
        unpacked += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= RATIO_CHECKED_FROM and ratio > limits.compression_ratio:
            raise Refused(
                f"{info.filename} unpacks {ratio:.0f} times its packed size, over "
                f"limits.compression_ratio ({limits.compression_ratio:g}): a zip bomb?"
            )
    if unpacked > limits.unpacked_mb * MB:
        raise Refused(
            f"the workbook unpacks to {unpacked / MB:.0f} MB, over limits.unpacked_mb "
            f"({limits.unpacked_mb:g})"
        )


def _scan_xml(member: IO[bytes], name: str, budget: int, limits: InputLimits) -> int:
    """Count ``member``'s elements within ``budget``; returns how many it had."""
    from xml.parsers import expat

    state = _Counts(name, budget, limits.cells)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = state.start
    parser.StartDoctypeDeclHandler = state.doctype
    parser.buffer_text = True
    try:
        while chunk := member.read(_CHUNK):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise ValueError(f"{name} is not well-formed XML: {exc}") from None
    return state.elements


class _Counts:
    """Expat callbacks: elements in the member, cells in the current row, row numbers."""

    def __init__(self, name: str, budget: int, cells: int) -> None:
        self.name = name
        self.budget = budget
        self.cells_limit = cells
        self.elements = 0
        self.cells = 0
        self.row_cells = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > self.budget:
            raise Refused(
                f"{self.name} holds more XML elements than a sheet of limits.cells "
                f"({self.cells_limit:,}) cells needs"
            )
        local = tag.rpartition(" ")[2]
        if local == "row":
            self.row_cells = 0
            number = attrs.get("r", "")
            if number.isdigit() and int(number) > EXCEL_MAX_ROWS:
                raise Refused(f"{self.name} has a row numbered {number}, past Excel's last row")
        elif local == "c":
            self.row_cells += 1
            self.cells += 1
            if self.row_cells > EXCEL_MAX_COLUMNS:
                raise Refused(f"{self.name} has a row of more than {EXCEL_MAX_COLUMNS} cells")
            if self.cells > self.cells_limit:
                raise Refused(f"{self.name} has more than limits.cells ({self.cells_limit:,})")

    def doctype(self, *args: object) -> None:
        raise Refused(f"{self.name} declares a DOCTYPE, which no Excel file has")
