"""The rows of an input file as text, from CSV or Excel, within the input's limits.

Every way a council export can be unreadable (too large, a zip bomb, truncated, damaged,
in another encoding, a missing sheet) ends as one :class:`InputError` naming the file and,
where a setting would fix it, the exact setting and the file to write it in. Rows are
read lazily, so the rows before a bad one are already recorded as items when it stops.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from borough.config.models import InputLimits
from borough.errors import InputError
from borough.evidence import SealedFile
from borough.inputs import DEFAULT_LIMITS, InputFile
from connectors.files.xlsx_guard import MB, check_xlsx

EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm"})
CSV_CHUNK_ROWS = 5_000
_ENCODING_NAMES = {"cp1252": "Windows-1252 (cp1252)", "latin-1": "Latin-1", "utf-8": "UTF-8"}


@dataclass(frozen=True)
class Source:
    """One file to read, with the options of its input (or those given to ``read_table``).

    A sealed download is read through ``opener`` (decrypted in memory); ``path`` then
    names it in messages (``evidence/<run>/downloads/<file>``).
    """

    path: Path
    encoding: str | None = None
    sheet: str | int | None = None
    limits: InputLimits = DEFAULT_LIMITS
    input: InputFile | None = None
    opener: Callable[[], bytes] | None = None

    @classmethod
    def of(
        cls,
        path: Path | str | SealedFile,
        *,
        sheet: str | int | None = None,
        encoding: str | None = None,
        limits: InputLimits | None = None,
    ) -> Source:
        """Options given here win over those of the input ``path`` came from."""
        given = path if isinstance(path, InputFile) else None
        sealed = path if isinstance(path, SealedFile) else None
        return cls(
            path=Path(sealed.relative if sealed else path),  # type: ignore[arg-type]
            encoding=encoding or (given.encoding if given else None),
            sheet=sheet if sheet is not None else (given.sheet if given else None),
            limits=limits or (given.limits if given else DEFAULT_LIMITS),
            input=given,
            opener=_once(sealed.read_bytes) if sealed else None,
        )

    def read_bytes(self) -> bytes:
        return self.opener() if self.opener is not None else self.path.read_bytes()

    def open(self) -> Path | IO[bytes]:
        """What zipfile and openpyxl can read: the path, or the decrypted bytes."""
        return io.BytesIO(self.opener()) if self.opener is not None else self.path

    def hint(self, key: str, value: str) -> str:
        if self.input is not None:
            return self.input.setting_hint(key, value)
        return f"pass {key}={value!r} to read_table, or give the bot's input `{key}: {value}`"

    def limit_hint(self) -> str:
        where = (
            f"input {self.input.input_name!r} in {self.input.declared_in}"
            if self.input is not None and self.input.input_name
            else "the input in its bot's config"
        )
        return f"if the file is genuine, raise that limit under `limits:` of {where}"


def _once(read: Callable[[], bytes]) -> Callable[[], bytes]:
    """Decrypt a sealed file once per read, however many times its bytes are asked for."""
    data = read()
    return lambda: data


def read_rows(source: Source) -> Generator[list[str], None, None]:
    """The header row, then every data row, each as a list of text cells."""
    path = source.path
    if source.opener is not None:
        size = len(source.read_bytes())
    elif not path.is_file():
        raise InputError(f"input file not found: {path}")
    else:
        size = path.stat().st_size
    if size > source.limits.file_mb * MB:
        raise InputError(
            f"{path}: the file is {size / MB:.1f} MB, over limits.file_mb "
            f"({source.limits.file_mb:g}); {source.limit_hint()}"
        )
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _excel_rows(source)
    if suffix == ".csv":
        return _csv_rows(source)
    raise InputError(f"{path}: unsupported file type {path.suffix!r}; use .csv or .xlsx")


def _csv_rows(source: Source) -> Generator[list[str], None, None]:
    """Rows decoded and parsed as the file is read (memory stays flat however long the
    file); a byte that is not in the encoding stops it with the line and a better guess."""
    import pandas as pd

    encoding = source.encoding or "utf-8-sig"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"{source.path}: unknown encoding {encoding!r}") from None
    binary = io.BytesIO(source.opener()) if source.opener is not None else source.path.open("rb")
    # newline="": line ends reach pandas as they are in the file (quoted ones included)
    with io.TextIOWrapper(binary, encoding=encoding, newline="") as text:
        try:
            reader = pd.read_csv(text, dtype=str, keep_default_na=False, chunksize=CSV_CHUNK_ROWS)
        except UnicodeDecodeError:
            raise _undecodable(source) from None
        except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"{source.path}: not a readable table ({exc})") from None
        with reader:
            cells = 0
            try:
                for index, chunk in enumerate(reader):
                    if index == 0:  # a file with only its header still gives one empty chunk
                        yield [str(column) for column in chunk.columns]
                    cells += chunk.size
                    _check_cells(source, cells)
                    for record in chunk.fillna("").itertuples(index=False, name=None):
                        yield list(record)  # all text already (dtype=str, blanks filled)
            except UnicodeDecodeError:
                raise _undecodable(source) from None
            except (ValueError, pd.errors.ParserError) as exc:
                raise InputError(f"{source.path}: not a readable table ({exc})") from None


def _undecodable(source: Source) -> InputError:
    """The error for a file that does not decode: the whole file is read again, only now,
    to name the line and the encoding it reads in."""
    try:
        _decode(source.read_bytes(), source)
    except InputError as exc:
        return exc
    return InputError(f"{source.path}: not readable as {source.encoding or 'UTF-8'} text")


def _decode(raw: bytes, source: Source) -> str:
    encoding = source.encoding or "utf-8-sig"
    try:
        return raw.decode(encoding)
    except LookupError:
        raise InputError(f"{source.path}: unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        named = _ENCODING_NAMES.get(source.encoding or "utf-8", source.encoding)
        guess = next(
            (
                candidate
                for candidate in ("utf-8", "cp1252", "latin-1")
                if candidate != (source.encoding or "utf-8") and _decodes(raw, candidate)
            ),
            "latin-1",
        )
        raise InputError(
            f"{source.path}: line {line} is not {named} text (byte 0x{raw[exc.start]:02X}); "
            f"it reads as {_ENCODING_NAMES[guess]}: {source.hint('encoding', guess)}"
        ) from None


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _excel_rows(source: Source) -> Generator[list[str], None, None]:
    from openpyxl import load_workbook

    path = source.path
    check_xlsx(source.open(), source.limits, source.limit_hint(), name=path)
    try:  # the file is untrusted: whatever openpyxl raises means the file is damaged
        book = load_workbook(source.open(), read_only=True, data_only=True, keep_links=False)
    except Exception as exc:
        raise InputError(
            f"{path}: not a readable Excel workbook ({type(exc).__name__}: {exc}); export it again"
        ) from None
    try:
        sheet = _sheet(book, source)
        sheet.reset_dimensions()  # the declared size may lie; rows are read as they come
        cells = 0
        done = 0  # rows read so far
        try:
            for values in sheet.iter_rows(values_only=True):
                cells += len(values)
                _check_cells(source, cells)
                yield [_text(value) for value in values]
                done += 1
        except InputError:
            raise
        except Exception as exc:
            raise InputError(
                f"{path}: row {done + 1} of sheet {sheet.title!r} cannot be read "
                f"({type(exc).__name__}: {exc}); export the workbook again"
            ) from None
    finally:
        book.close()


def _sheet(book: Any, source: Source) -> Any:
    names = list(book.sheetnames)
    wanted = source.sheet
    if wanted is None:
        return book[names[0]]
    if isinstance(wanted, int) and 0 <= wanted < len(names):
        return book[names[wanted]]
    if isinstance(wanted, str) and wanted in names:
        return book[wanted]
    raise InputError(
        f"{source.path}: no sheet {wanted!r}; its sheets are {', '.join(map(repr, names))}: "
        + source.hint("sheet", repr(names[0]))
    )


def _check_cells(source: Source, cells: int) -> None:
    if cells > source.limits.cells:
        raise InputError(
            f"{source.path}: more than limits.cells ({source.limits.cells:,}) cells; "
            f"{source.limit_hint()}"
        )


def _text(value: object) -> str:
    """A cell as the text pandas gave for it: 12.0 -> "12", a date -> "2026-11-27 00:00:00"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
