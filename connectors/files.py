"""Files: read council exports (CSV/Excel) row by row with validation, and append to an
Excel import workbook exactly once per key."""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from borough.bot import Item
from borough.connect import AppServices, Connector
from borough.errors import BusinessRuleError, ConnectorError, InputError

M = TypeVar("M", bound=BaseModel)
EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})


@dataclass(frozen=True)
class TableRow(Generic[M]):
    """One data row: ``number`` is the spreadsheet row (header is row 1)."""

    file: Path
    number: int
    raw: dict[str, str]
    value: M | None
    problems: str | None

    @property
    def source(self) -> str:
        return f"{self.file.name} row {self.number}"

    def to_item(self, key: str | Callable[[M], str], *, key_column: str | None = None) -> Item[M]:
        """The row as a work item keyed by field ``key``; an invalid row keeps its problems."""
        if self.value is not None:
            ident = key(self.value) if callable(key) else str(getattr(self.value, key))
            return Item(key=ident, data=self.value, source=self.source)
        column = key_column or (key if isinstance(key, str) else None)
        ident = (self.raw.get(column) or "").strip() if column else ""
        return Item(
            key=ident or f"{self.file.name}#row{self.number}",
            source=self.source,
            invalid=f"{self.source}: {self.problems}",
            raw=self.raw,
        )


def expected_columns(schema: type[BaseModel]) -> tuple[list[str], list[str]]:
    """(required, optional) column names of a row model, by alias where one is set."""
    required: list[str] = []
    optional: list[str] = []
    for name, info in schema.model_fields.items():
        column = info.alias or name
        (required if info.is_required() else optional).append(column)
    return required, optional


def read_frame(path: Path, *, sheet: str | None = None, encoding: str | None = None) -> Any:
    """The file as a pandas DataFrame of strings ('' for blanks); a clear error if unreadable."""
    import pandas as pd

    if not path.exists():
        raise InputError(f"input file not found: {path}")
    try:
        if path.suffix.lower() in EXCEL_SUFFIXES:
            frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, engine="openpyxl")
        elif path.suffix.lower() == ".csv":
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding=encoding or "utf-8-sig"
            )
        else:
            raise InputError(f"{path}: unsupported file type {path.suffix!r}; use .csv or .xlsx")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not {encoding or 'UTF-8'} text (byte {exc.start}); save the export as "
            "UTF-8 or set the input's encoding (e.g. cp1252)"
        ) from None
    except ValueError as exc:
        raise InputError(f"{path}: cannot read the table ({exc})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable table ({exc})") from None
    return frame.fillna("")


def read_table(
    path: Path | str,
    schema: type[M],
    *,
    sheet: str | None = None,
    encoding: str | None = None,
) -> Iterator[TableRow[M]]:
    """Yield every data row validated against ``schema``; a missing column stops the file."""
    path = Path(path)
    frame = read_frame(path, sheet=sheet, encoding=encoding)
    columns = [str(c).strip() for c in frame.columns]
    frame.columns = columns
    required, _ = expected_columns(schema)
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"found: {', '.join(repr(c) for c in columns) or '(none)'}"
        )
    for offset, record in enumerate(frame.to_dict(orient="records")):
        raw = {str(k): str(v).strip() for k, v in record.items()}
        if not any(raw.values()):
            continue
        clean = {k: v for k, v in raw.items() if v != ""}
        try:
            value = schema.model_validate(clean)
            yield TableRow(path, offset + 2, raw, value, None)
        except ValidationError as exc:
            yield TableRow(path, offset + 2, raw, None, _describe(exc))


def _describe(exc: ValidationError) -> str:
    """pydantic errors as 'column: problem' without echoing the (possibly personal) value."""
    parts = []
    for err in exc.errors(include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "row"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


class WorkbookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="the .xlsx workbook (relative to BOROUGH_HOME)")
    sheet: str = "Import"
    key_column: str = Field(description="column holding each row's idempotency key")
    reference_prefix: str = "IMP-"
    columns: list[str] = Field(description="columns in order (reference first is added)")


class FilesConnector(Connector):
    """An Excel import workbook another council system picks up: append rows, find by key."""

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
            sheet.append([reference, *(row.get(c) for c in self.settings.columns)])
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
        sheet.append([self.REFERENCE_COLUMN, *self.settings.columns])
        return book, sheet

    def _save(self, book: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".xlsx", dir=self.path.parent)
        os.close(fd)
        try:
            book.save(tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
