"""Council exports (CSV/Excel) as validated rows: ``read_table(path, Model)``.

Each data row is checked against a pydantic model; a row that fails keeps its problems
(as text that never echoes a personal value) and becomes an invalid item, recorded and
failed with its reason rather than dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from borough.bot import Item
from borough.config.models import InputLimits
from borough.errors import InputError
from borough.evidence import SealedFile
from connectors.files.sources import Source, read_rows

M = TypeVar("M", bound=BaseModel)


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


def read_frame(
    path: Path | str | SealedFile,
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    limits: InputLimits | None = None,
) -> Any:
    """The file as a pandas DataFrame of strings ('' for blanks); a clear error if unreadable."""
    import pandas as pd

    rows = read_rows(Source.of(path, sheet=sheet, encoding=encoding, limits=limits))
    header = next(rows, [])
    width = len(header)
    body = [(cells + [""] * width)[:width] for cells in rows]
    return pd.DataFrame(body, columns=header, dtype=str)


def read_table(
    path: Path | str | SealedFile,
    schema: type[M],
    *,
    sheet: str | int | None = None,
    encoding: str | None = None,
    limits: InputLimits | None = None,
) -> Iterator[TableRow[M]]:
    """Yield every data row validated against ``schema``; a missing column stops the file.

    ``path`` may be a bot's input (``ctx.inputs["csv"]``): its ``encoding``, ``sheet`` and
    ``limits`` from the bot's config apply unless given here. It may also be a file the run
    downloaded (``web.download(..., ctx.downloads, ...)``), read decrypted in memory.
    """
    source = Source.of(path, sheet=sheet, encoding=encoding, limits=limits)
    rows = read_rows(source)
    columns = [column.strip() for column in next(rows, [])]
    required, _ = expected_columns(schema)
    missing = [c for c in required if c not in columns]
    if missing:
        rows.close()
        raise InputError(
            f"{source.path}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"found: {', '.join(repr(c) for c in columns if c) or '(none)'}"
        )
    unnamed = "" in columns  # a column without a header is left out of every row
    for number, cells in enumerate(rows, start=2):
        raw = dict(zip(columns, map(str.strip, cells), strict=False))
        if unnamed:
            raw.pop("", None)
        clean = {k: v for k, v in raw.items() if v}
        if not clean:
            continue
        try:
            value = schema.model_validate(clean)
            yield TableRow(source.path, number, raw, value, None)
        except ValidationError as exc:
            yield TableRow(source.path, number, raw, None, _describe(exc))


def _describe(exc: ValidationError) -> str:
    """pydantic errors as 'column: problem' without echoing the (possibly personal) value."""
    parts = []
    for err in exc.errors(include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "row"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)
