"""Reading an uploaded table (CSV or XLSX) and checking its rows cell by cell."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from flask_babel import gettext as _

from participation.validation import clean_text

MAX_ROWS = 200_000
MAX_CELL = 10_000


@dataclass
class RowError:
    """One problem: spreadsheet row, column name, message."""

    row: int
    column: str
    message: str


@dataclass
class ImportResult:
    """What an import did, or why it did nothing."""

    rows: int = 0
    created: int = 0
    merged: int = 0
    errors: list[RowError] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    flagged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, no header, too large)."""


class ImportRefused(ImportFileError):
    """The import is refused whatever the file holds, e.g. the session takes no proposals now."""


def header_key(text) -> str:
    """Header cells compared loosely: 'Nama Usaha' and 'nama_usaha' are the same column."""
    return re.sub(r"[^a-z0-9]+", "_", str(text or "").strip().lower()).strip("_")


def read_table(filename: str, data: bytes) -> tuple[list[str], Iterable[tuple[int, list]]]:
    """Header keys and (row number, cells) from a CSV or XLSX file, told apart by content."""
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError(_("The file is not a valid XLSX workbook."))
    return _read_csv(data)


def _read_csv(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
    if "\x00" in text:
        raise ImportFileError(_("The file contains NUL bytes; save it again as CSV or XLSX."))
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)  # Indonesian Excel writes ';'
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    return [header_key(cell) for cell in header], ((number, row) for number, row in enumerate(reader, start=2))


def _read_xlsx(data: bytes):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise ImportFileError(_("The file is not a valid XLSX workbook.")) from None
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    try:
        header = next(rows)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    return [header_key(cell) for cell in header], ((number, list(row)) for number, row in enumerate(rows, start=2))


def estimate_rows(filename: str, data: bytes) -> int:
    """Roughly how many data rows a file has, for a progress bar."""
    if data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
            return max((sheet.max_row or 1) - 1, 1)
        except Exception:  # the real read reports the problem
            return 1
    return max(data.count(b"\n") - 1, 1)


def cell_text(value) -> str:
    """A cell as text: integral numbers without '.0' (NIBs often arrive as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def check_header(header: list[str], columns: dict[str, bool]) -> list[RowError]:
    """Missing required columns and unknown columns, reported against row 1."""
    errors = [RowError(1, name, _("Required column is missing.")) for name, required in columns.items()
              if required and name not in header]
    errors += [RowError(1, name or "?", _("Unknown column; expected one of: %(names)s.",
                                          names=", ".join(columns)))
               for name in header if name not in columns]
    seen = set()
    for name in header:
        if name in seen and name in columns:
            errors.append(RowError(1, name, _("The column appears twice.")))
        seen.add(name)
    return errors


class RowReader:
    """Typed access to one row's cells, collecting errors instead of raising."""

    def __init__(self, row: int, values: dict[str, str], errors: list[RowError]):
        self.row, self.values, self.errors = row, values, errors

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row, column, message))

    def check(self, column: str, message: str | None) -> None:
        """Record the message of a `participation.validation` check, if it refused the cell."""
        if message:
            self.error(column, message)

    def text(self, column: str, *, required=False, max_length=200, multiline=False) -> str:
        raw = self.values.get(column, "")
        try:
            value = clean_text(raw, multiline=multiline) or ""
        except ValueError as error:
            self.error(column, str(error))
            return ""
        if required and not value:
            self.error(column, _("This field is required."))
        elif len(value) > max_length:
            self.error(column, _("At most %(n)d characters.", n=max_length))
        return value

    def number(self, column: str, *, required=False, maximum=10**15) -> int | None:
        text = self.text(column, required=required, max_length=40)
        if not text:
            return None
        compact = re.sub(r"^rp\.?\s*", "", text, flags=re.IGNORECASE)
        compact = re.sub(r"[.,\s](?=\d{3}(\D|$))", "", compact)
        if not compact.isdigit() or int(compact) > maximum:
            self.error(column, _("Enter a whole number, for example 1.500.000."))
            return None
        return int(compact)


def parse_rows(header, rows, columns, parse: Callable, progress) -> tuple[list[tuple[int, dict]], list[RowError]]:
    """Each non-blank row through `parse(RowReader)`: (row number, record) pairs and every row's errors."""
    errors: list[RowError] = []
    parsed = []
    for number, cells in rows:
        if number - 1 > MAX_ROWS:
            raise ImportFileError(_("The file has more than %(n)d rows.", n=MAX_ROWS))
        texts = [cell_text(cell)[:MAX_CELL + 1] for cell in cells]
        if not any(text.strip() for text in texts):
            continue  # blank lines are common at the end of spreadsheets
        values = {name: texts[i] if i < len(texts) else "" for i, name in enumerate(header) if name in columns}
        reader = RowReader(number, values, errors)
        record = parse(reader)
        parsed.append((number, record))
        if progress:
            progress(1)
    return parsed, errors
