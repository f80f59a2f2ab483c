"""An Excel import workbook another council system picks up: append rows exactly once
per key, find a row by key.

Every append saves the whole workbook to a private temporary file and renames it over
the target, so the target is always a complete workbook. Text is written as typed
strings, never as formulas: a surname ``=HYPERLINK("http://…")`` stays a surname when
the revenues team opens the file.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from borough import filemodes
from borough.connect import AppServices, Connector
from borough.errors import BusinessRuleError, ConnectorError
from connectors.files import tempfiles


class WorkbookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="the .xlsx workbook (relative to BOROUGH_HOME)")
    sheet: str = "Import"
    key_column: str = Field(description="column holding each row's idempotency key")
    reference_prefix: str = "IMP-"
    columns: list[str] = Field(description="columns in order (reference first is added)")


class FilesConnector(Connector):
    """Append rows to an import workbook and find them again by key."""

    kind: ClassVar[str] = "files"
    Settings: ClassVar[type[BaseModel]] = WorkbookSettings
    REFERENCE_COLUMN: ClassVar[str] = "Import Reference"

    def __init__(self, name: str, settings: WorkbookSettings, services: AppServices) -> None:
        super().__init__(name, settings, services)
        raw = Path(settings.path).expanduser()
        self.path = raw if raw.is_absolute() else services.home / raw
        if settings.key_column not in settings.columns:
            raise ConnectorError(
                f"app {name!r}: key_column {settings.key_column!r} is not one of its columns"
            )
        with self._locked():
            tempfiles.remove_stale(self.path)

    def append(self, row: Mapping[str, Any]) -> str:
        """Add one row atomically (all or nothing on disk) and return its import reference."""
        unknown = set(row) - set(self.settings.columns)
        if unknown:
            raise BusinessRuleError(
                f"column(s) {', '.join(sorted(unknown))} not in the import layout", app=self.name
            )
        with self._locked():
            book, sheet = self._open()
            reference = f"{self.settings.reference_prefix}{sheet.max_row:06d}"
            values = [reference, *(row.get(c) for c in self.settings.columns)]
            self._append_values(sheet, values)
            self._save(book)
        return reference

    def find(self, key: str) -> str | None:
        """The import reference of the row whose key column equals ``key``, if any."""
        with self._locked():
            if not self.path.exists():
                return None
            _, sheet = self._open()
            index = self.settings.columns.index(self.settings.key_column) + 1
            for row in sheet.iter_rows(min_row=2, values_only=True):
                if row and len(row) > index and str(row[index]) == key:
                    return str(row[0])
            return None

    def count(self) -> int:
        with self._locked():
            if not self.path.exists():
                return 0
            _, sheet = self._open()
            return int(sheet.max_row) - 1

    def close(self) -> None:
        """Nothing stays open between calls: each append is a complete, saved workbook."""

    def _append_values(self, sheet: Any, values: list[Any]) -> None:
        """One row; text as typed strings (openpyxl would make ``=…`` a live formula and
        ``#N/A`` an error cell)."""
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        names = ["reference", *self.settings.columns]
        for name, value in zip(names, values, strict=False):
            if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
                raise BusinessRuleError(
                    f"column {name} holds a control character a workbook cannot store",
                    app=self.name,
                )
        sheet.append(values)
        for cell, value in zip(sheet[sheet.max_row], values, strict=False):
            if isinstance(value, str):
                cell.data_type = "s"

    def _open(self) -> tuple[Any, Any]:
        from openpyxl import Workbook, load_workbook

        if self.path.exists():
            try:
                book = load_workbook(self.path)
            except Exception as exc:
                raise ConnectorError(f"cannot open workbook {self.path}: {exc}") from None
            if self.settings.sheet not in book.sheetnames:
                raise ConnectorError(f"workbook {self.path} has no sheet {self.settings.sheet!r}")
            return book, book[self.settings.sheet]
        book = Workbook()
        sheet = book.active
        sheet.title = self.settings.sheet
        self._append_values(sheet, [self.REFERENCE_COLUMN, *self.settings.columns])
        return book, sheet

    def _save(self, book: Any) -> None:
        filemodes.make_folder(self.path.parent)
        tmp = tempfiles.create(self.path)
        try:
            book.save(tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the rename itself survives a power cut
        finally:
            os.close(folder)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        filemodes.make_folder(lock_path.parent)
        with filemodes.open_private(lock_path, "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
