"""Reading an uploaded table (CSV or XLSX) and checking its rows cell by cell."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Callable, Iterable

from flask import current_app
from flask_babel import format_number
from flask_babel import gettext as _

from participation.forms import parse_volume
from participation.validation import PlaceProblem, check_place, clean_text, normalize_place, official_place

MAX_ROWS = 200_000
MAX_CELL = 10_000
# Columns read from a file: far more than any import has, few enough that a sheet claiming
# 16,384 columns (or a CSV line of commas) is not expanded cell by cell.
MAX_COLUMNS = 100
# An XLSX has a dozen members; thousands mean a crafted archive.
MAX_XLSX_MEMBERS = 1000
# Only members at least this large are held to the compression ratio (small XML packs tightly).
RATIO_FLOOR = 1024 * 1024
# openpyxl spends tens of microseconds on each shared text and each cell it parses, whatever the
# row limit: a workbook may hold this many of each per data row allowed (a real one holds a few).
SHARED_TEXTS_PER_ROW = 5
CELLS_PER_ROW = 30


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


@dataclass(frozen=True)
class TableLimits:
    """What one imported file may hold: data rows, and what an XLSX may unpack to before parsing."""

    rows: int = MAX_ROWS
    unpacked_bytes: int = 512 * 1024 * 1024
    ratio: int = 200
    web: bool = False

    @classmethod
    def for_web(cls) -> TableLimits:
        """A file uploaded through a page: IMPORT_MAX_ROWS_WEB rows, XLSX_MAX_UNPACKED_BYTES_WEB unpacked."""
        config = current_app.config
        return cls(rows=config["IMPORT_MAX_ROWS_WEB"], unpacked_bytes=config["XLSX_MAX_UNPACKED_BYTES_WEB"],
                   ratio=config["XLSX_MAX_COMPRESSION_RATIO"], web=True)

    @classmethod
    def for_command_line(cls) -> TableLimits:
        """A file given to a `flask import-...` command: MAX_ROWS rows, XLSX_MAX_UNPACKED_BYTES unpacked."""
        config = current_app.config
        return cls(unpacked_bytes=config["XLSX_MAX_UNPACKED_BYTES"], ratio=config["XLSX_MAX_COMPRESSION_RATIO"])

    def too_many_rows(self) -> str:
        """Why a file with more rows than allowed is refused, naming the limit."""
        if self.web:
            return _("A file uploaded here may have at most %(n)s data rows; split it into smaller files "
                     "or import it on the command line.", n=format_number(self.rows))
        return _("The file has more than %(n)d rows.", n=self.rows)


def header_key(text) -> str:
    """Header cells compared loosely: 'Nama Usaha' and 'nama_usaha' are the same column."""
    return re.sub(r"[^a-z0-9]+", "_", str(text or "").strip().lower()).strip("_")


def read_table(filename: str, data: bytes, limits: TableLimits | None = None
               ) -> tuple[list[str], Iterable[tuple[int, list]]]:
    """Header keys and (row number, cells) from a CSV or XLSX file, told apart by content.

    Anything wrong with the file itself, found now or while its rows are read, is an
    ImportFileError with a message for the user.
    """
    limits = limits or TableLimits.for_command_line()
    if data[:4] == b"PK\x03\x04":
        header, rows = _read_xlsx(data, limits)
    elif filename.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError(invalid_workbook())
    else:
        header, rows = _read_csv(data)
    while header and header[-1] in (None, ""):
        header.pop()  # trailing empty header cells: a sheet's used range, a line's trailing separator
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(_("The file has more than %(n)d columns.", n=MAX_COLUMNS))
    return [header_key(cell) for cell in header], rows


def invalid_workbook() -> str:
    return _("The file is not a valid XLSX workbook.")


def _reading(rows, message: str):
    """`rows` from a parser; a failure while reading them is the file's, reported with `message`."""
    try:
        yield from rows
    except ImportFileError:
        raise
    except Exception:  # csv, zipfile, zlib, expat and openpyxl all raise their own kinds
        raise ImportFileError(message) from None


def _read_csv(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
    if "\x00" in text:
        raise ImportFileError(_("The file contains NUL bytes; save it again as CSV or XLSX."))
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)  # Indonesian Excel writes ';'
    reader = _reading(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter),
                      _("The file could not be read as CSV; save it again as CSV (UTF-8) or XLSX."))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    return header, ((number, row) for number, row in enumerate(reader, start=2))


def _read_xlsx(data: bytes, limits: TableLimits):
    from openpyxl import load_workbook

    check_workbook_archive(data, limits)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:  # openpyxl raises many kinds for a damaged file (IndexError: no worksheet)
        raise ImportFileError(invalid_workbook()) from None
    rows = _reading(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1), invalid_workbook())
    try:
        header = list(next(rows))
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    return header, ((number, list(row)) for number, row in enumerate(rows, start=2))


def check_workbook_archive(data: bytes, limits: TableLimits) -> int:
    """Refuse an XLSX before any XML in it is parsed: a zip bomb, XML with a DTD (entities), or more
    shared texts and cells than the row limit explains (each costs openpyxl time to parse).

    The sizes come from the archive's directory; `zipfile` never unpacks more than a member
    declares, so a member that lies about its size fails its CRC check instead of growing.
    Returns about how many rows its worksheets hold.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception:  # BadZipFile, and struct or value errors on a mangled directory
        raise ImportFileError(invalid_workbook()) from None
    with archive:
        if len(members) > MAX_XLSX_MEMBERS:
            raise ImportFileError(invalid_workbook())
        total = 0
        for member in members:
            total += member.file_size
            tight = member.file_size >= RATIO_FLOOR and member.file_size > limits.ratio * max(member.compress_size, 1)
            if total > limits.unpacked_bytes or tight:
                raise ImportFileError(_(
                    "The workbook unpacks to more than %(mb)d MB or is packed suspiciously tightly; it was not "
                    "read. Save it again, split it or import it as CSV.", mb=limits.unpacked_bytes // 2**20))
        texts = cells = rows = 0
        for member in members:
            if member.filename.lower().endswith((".xml", ".rels")):
                _refuse_doctype(archive, member)
                member_texts, member_cells, member_rows = _count_elements(archive, member)
                texts, cells = texts + member_texts, cells + member_cells
                rows += member_rows if "worksheets/" in member.filename.lower() else 0
        if texts > limits.rows * SHARED_TEXTS_PER_ROW + 10_000 or cells > limits.rows * CELLS_PER_ROW + 10_000:
            raise ImportFileError(_("The workbook holds more cells or texts than a file of %(n)s rows can; it was "
                                    "not read. Remove extra sheets and columns, or import it as CSV.",
                                    n=format_number(limits.rows)))
    return rows


def _count_elements(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> tuple[int, int, int]:
    """At least how many shared texts (<si>), cells (<c>) and rows one XML member holds, counted in its bytes.

    Every such element starts with "<si" or "<c", or with ":si" or ":c" after a namespace prefix
    (XML allows no space after "<"), so counting those bytes can only overcount (closing tags,
    <cols>, ...): nothing can be hidden from the count.
    """
    texts = cells = rows = 0
    tail = b""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(1 << 20):
                data = tail + chunk  # the last bytes again, so that a name cut in two is counted
                texts += data.count(b"<si") + data.count(b":si")
                cells += data.count(b"<c") + data.count(b":c")
                rows += data.count(b"<row") + data.count(b":row")
                tail = data[-4:]
    except Exception:  # a bad CRC, a damaged deflate stream
        raise ImportFileError(invalid_workbook()) from None
    return texts, cells, rows


def _refuse_doctype(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Read one XML member up to its root element: a DTD there (the only place entities are declared) is refused."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    try:
        with archive.open(member) as stream:
            for _event in iterparse(stream, events=("start",), forbid_dtd=True):
                break
    except DefusedXmlException:
        raise ImportFileError(_("The workbook contains a document type declaration (DTD), which is not "
                                "accepted. Save it again from a spreadsheet program or as CSV.")) from None
    except Exception:  # a parse error, a bad CRC, an encrypted or unsupported member
        raise ImportFileError(invalid_workbook()) from None


def estimate_rows(filename: str, data: bytes, limits: TableLimits | None = None) -> int:
    """Roughly how many data rows a file has, for a progress bar (an XLSX's rows counted, not parsed)."""
    if data[:4] == b"PK\x03\x04":
        try:
            rows = check_workbook_archive(data, limits or TableLimits.for_command_line())
        except ImportFileError:  # the real read reports the problem
            return 1
        return max(rows - 1, 1)
    return max(data.count(b"\n") - 1, 1)


def cell_text(value) -> str:
    """A cell as text: integral numbers without '.0' (NIBs often arrive as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, float):
        # With a decimal comma, as a person types it here: 1.555 as "1.555" would read as one
        # thousand five hundred and fifty-five where dots group thousands.
        return repr(value).replace(".", ",")
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

    def place(self, city, *, required: bool) -> dict:
        """The row's kelurahan and kecamatan: free text (letters), or with a city from its Kemendagri list.

        Optional columns (`required` False) may both be empty; with a city a kecamatan alone is
        refused, since the kelurahan says where the proposal is.
        """
        empty = {"kelurahan": "", "kecamatan": "", "kelurahan_code": None}
        kelurahan = self.text("kelurahan", required=required, max_length=100)
        kecamatan = self.text("kecamatan", required=required, max_length=100)
        if city is None:
            place = {"kelurahan": normalize_place(kelurahan) or "", "kecamatan": normalize_place(kecamatan) or "",
                     "kelurahan_code": None}
            for column in ("kelurahan", "kecamatan"):
                self.check(column, check_place(place[column]))
            return place
        if not kelurahan or (required and not kecamatan):
            if kecamatan and not required:
                self.error("kelurahan", _("Give the kelurahan too, or leave both empty."))
            return empty  # a required cell left empty is already reported
        try:
            return official_place(city, kelurahan, kecamatan).as_data()
        except PlaceProblem as problem:
            self.error(problem.column, problem.message)
            return empty

    def volume(self, column: str) -> float | None:
        """An optional quantity above zero with at most two decimals, read as the proposal form reads it."""
        text = self.text(column, max_length=40)
        try:
            return parse_volume(text)
        except ValueError as error:
            self.error(column, str(error))
            return None

    def number(self, column: str, *, required=False, maximum=10**15, example: int = 1_500_000) -> int | None:
        """A whole number up to `maximum`; one message when it is not: no number (with an
        `example`, which must fit the column's range), or out of range."""
        text = self.text(column, required=required, max_length=40)
        if not text:
            return None
        compact = re.sub(r"^rp\.?\s*", "", text, flags=re.IGNORECASE)
        compact = re.sub(r"[.,\s](?=\d{3}(\D|$))", "", compact)
        negative = compact.startswith("-") and compact[1:].isdigit()
        if negative or (compact.isdigit() and int(compact) > maximum):
            self.error(column, _("Enter a whole number from %(minimum)s to %(maximum)s.",
                                 minimum=format_number(0), maximum=format_number(maximum)))
            return None
        if not compact.isdigit():
            self.error(column, _("Enter a whole number, for example %(example)s.", example=format_number(example)))
            return None
        return int(compact)


def parse_rows(header, rows, columns, parse: Callable, progress, limits: TableLimits | None = None
               ) -> tuple[list[tuple[int, dict]], list[RowError]]:
    """Each non-blank row through `parse(RowReader)`: (row number, record) pairs and every row's errors."""
    limits = limits or TableLimits.for_command_line()
    errors: list[RowError] = []
    parsed = []
    for number, cells in rows:
        if number - 1 > limits.rows:
            raise ImportFileError(limits.too_many_rows())
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
