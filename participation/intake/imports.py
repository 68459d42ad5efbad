"""Business and proposal imports from CSV or XLSX: validate every row, then save all or nothing.

Businesses are merged by NIB plus normalised name (case, punctuation and CV/UD/PT prefixes
ignored); one NIB may carry several KBLI codes, which are united. Errors are reported per row
and column, in the user's language; row numbers are the spreadsheet's (the header is row 1).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from flask_babel import gettext as _
from sqlalchemy import insert, select, update

from participation import events
from participation.events import Actor
from participation.extensions import db
from participation.validation import (
    check_kbli,
    check_nib,
    check_phone,
    check_place,
    clean_text,
    normalize_nib,
    normalize_phone,
    normalize_place,
    parse_kbli,
)
from participation.models import (
    Business,
    LegalForm,
    Proposal,
    ProposalSource,
    Scale,
    ThemedSession,
    normalize_business_name,
    utcnow,
)

MAX_ROWS = 200_000
MAX_CELL = 10_000

BUSINESS_COLUMNS = {
    "nib": True, "nama_usaha": True, "nama_pemilik": True, "kbli": True, "skala": True,
    "kelurahan": True, "kecamatan": True, "telepon": False, "alamat": False, "bentuk_usaha": False,
    "modal": False, "omzet": False, "tenaga_kerja_laki": False, "tenaga_kerja_perempuan": False,
    "sertifikat": False,
}
# A roster may also be a plain list of businesses already registered: NIB and name only.
ROSTER_COLUMNS = {"nib": True, "nama_usaha": True}
PROPOSAL_COLUMNS = {
    "nib": True, "nama_usaha": True, "judul": True, "masalah": True, "deskripsi": True, "kategori": True,
    "perkiraan_biaya": True, "penerima_manfaat": True, "tenaga_kerja_baru": True, "kelurahan": False,
    "kecamatan": False, "nomor_formulir": False,
}


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


def accepts_proposal_imports(themed_session: ThemedSession) -> bool:
    """Imported proposals, like paper ones, arrive while the session is open or under review."""
    from participation.intake.services import PAPER_STATUSES

    return themed_session.status in PAPER_STATUSES


def proposal_imports_closed_message() -> str:
    """Why a session refuses imported proposals, for the page and the command line."""
    return _("Proposals can be imported only while the session is open or under review.")


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


def _business_row(reader: RowReader) -> dict | None:
    nib = normalize_nib(reader.text("nib", required=True, max_length=30))
    if nib:
        reader.check("nib", check_nib(nib))
    name = reader.text("nama_usaha", required=True)
    owner = reader.text("nama_pemilik", required=True, max_length=120)
    kbli_text = reader.text("kbli", required=True)
    codes = parse_kbli(kbli_text)
    if kbli_text:  # an empty cell is already reported as required
        reader.check("kbli", check_kbli(codes))
    scale_text = reader.text("skala", required=True, max_length=20).lower()
    scale = next((s for s in Scale if s.value == scale_text), None)
    if scale_text and scale is None:
        reader.error("skala", _("Use mikro, kecil or menengah."))
    places = {}
    for column in ("kelurahan", "kecamatan"):
        places[column] = normalize_place(reader.text(column, required=True, max_length=100))
        reader.check(column, check_place(places[column]))
    phone = normalize_phone(reader.text("telepon", max_length=30)) or None
    reader.check("telepon", check_phone(phone))
    legal_text = reader.text("bentuk_usaha", max_length=20).lower().rstrip(".")
    legal = next((f for f in LegalForm if f.value == legal_text), None)
    if legal_text and legal is None:
        reader.error("bentuk_usaha", _("Use perorangan, ud, cv, pt or koperasi."))
    certificates = {c.strip().lower() for c in re.split(r"[,;/ ]+", reader.text("sertifikat")) if c.strip()}
    unknown = certificates - {"halal", "pirt", "sni"}
    if unknown:
        reader.error("sertifikat", _("Use halal, pirt or sni."))
    return {
        "nib": nib, "name": name, "name_key": normalize_business_name(name), "owner_name": owner,
        "kbli": set(codes), "scale": scale, "legal_form": legal, "kelurahan": places["kelurahan"],
        "kecamatan": places["kecamatan"], "phone": phone, "address": reader.text("alamat", max_length=300),
        "capital": reader.number("modal"), "annual_turnover": reader.number("omzet"),
        "workforce_men": reader.number("tenaga_kerja_laki", maximum=100_000) or 0,
        "workforce_women": reader.number("tenaga_kerja_perempuan", maximum=100_000) or 0,
        "cert_halal": "halal" in certificates, "cert_pirt": "pirt" in certificates, "cert_sni": "sni" in certificates,
    }


def _rows(header, rows, columns, parse: Callable, progress) -> tuple[list[tuple[int, dict]], list[RowError]]:
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


def import_businesses(filename: str, data: bytes, actor: Actor, progress=None) -> ImportResult:
    """Import a business file, all or nothing; audited as `businesses.imported` when it went in."""
    result = _import_businesses(filename, data, progress)
    if result.ok:
        events.record("businesses.imported", actor, after={"file": filename[:100], "rows": result.rows,
                                                    "created": result.created, "merged": result.merged})
    return result


def _import_businesses(filename: str, data: bytes, progress=None) -> ImportResult:
    """Validate every row, then merge into existing businesses or create new ones, in one go."""
    header, rows = read_table(filename, data)
    result = ImportResult(errors=check_header(header, BUSINESS_COLUMNS))
    if result.errors:
        return result
    parsed, result.errors = _rows(header, rows, BUSINESS_COLUMNS, _business_row, progress)
    result.rows = len(parsed)
    if result.errors or not parsed:
        if not parsed and not result.errors:
            result.errors.append(RowError(2, "-", _("The file has no data rows.")))
        return result

    merged_in_file: dict[tuple[str, str], dict] = {}
    for _number, record in parsed:
        key = (record["nib"], record["name_key"])
        if key in merged_in_file:
            _merge_record(merged_in_file[key], record)
        else:
            merged_in_file[key] = record
    existing = _existing_businesses(set(merged_in_file))
    now = utcnow()
    new_keys, new_rows, updates = [], [], []
    for key, record in merged_in_file.items():
        business = existing.get(key)
        if business is None:
            new_keys.append(key)
            new_rows.append(_new_business_row(record, now))
        else:
            updates.append(_merged_update(business, record, now))
    ids = {key: business.id for key, business in existing.items()}
    if new_rows:
        ids.update(_insert_businesses(new_keys, new_rows))
    changed = [row for row in updates if row is not None]
    if changed:
        db.session.execute(update(Business), changed)
    db.session.flush()
    result.created, result.merged = len(new_rows), len(parsed) - len(new_rows)
    result.ids = [ids[key] for key in merged_in_file]
    return result


def _insert_businesses(keys: list[tuple[str, str]], rows: list[dict]) -> dict[tuple[str, str], int]:
    """Insert new businesses and return their ids by key.

    PostgreSQL gets COPY: a multi-row INSERT of tens of thousands of rows spends most of its time
    in the driver building the statement. SQLite's executemany is already fast.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        new_ids = db.session.scalars(insert(Business).returning(Business.id, sort_by_parameter_order=True),
                                     rows).all()
        return dict(zip(keys, new_ids, strict=True))
    columns = list(rows[0])
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    with cursor.copy(f"COPY businesses ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([getattr(row[column], "value", row[column]) for column in columns])
    return _matching_ids(set(keys))


def _merge_record(target: dict, record: dict) -> None:
    """Duplicates within the file: unite KBLI codes, fill what the first row left blank."""
    target["kbli"] |= record["kbli"]
    for key, value in record.items():
        if key != "kbli" and target.get(key) in (None, "", 0, False) and value not in (None, "", 0, False):
            target[key] = value


def _existing_businesses(keys: set[tuple[str, str]]) -> dict[tuple[str, str], Business]:
    """Stored businesses matching (NIB, name key) pairs of the import; the oldest wins a tie."""
    matched = _matching_ids(keys)
    wanted = sorted(matched.values())
    by_id = {}
    for start in range(0, len(wanted), 500):
        for business in db.session.scalars(select(Business).where(Business.id.in_(wanted[start:start + 500]))):
            by_id[business.id] = business
    return {key: by_id[business_id] for key, business_id in matched.items()}


def _matching_ids(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids of stored businesses with these (NIB, name key) pairs; the oldest wins a tie.

    Small imports look up their NIBs; large ones read the three key columns of the whole table
    once, which stays fast whatever the planner's statistics say.
    """
    nibs = sorted({nib for nib, _ in keys})
    if len(nibs) > 2000:
        candidates = db.session.execute(
            select(Business.id, Business.nib, Business.name_key).order_by(Business.id)).all()
    else:
        candidates = []
        for start in range(0, len(nibs), 500):
            candidates += db.session.execute(
                select(Business.id, Business.nib, Business.name_key)
                .where(Business.nib.in_(nibs[start:start + 500])).order_by(Business.id)).all()
    matched: dict[tuple[str, str], int] = {}
    for business_id, nib, name_key in sorted(candidates):
        if (nib, name_key) in keys:
            matched.setdefault((nib, name_key), business_id)
    return matched


def _new_business_row(record: dict, now) -> dict:
    row = {key: record[key] for key in ("nib", "name", "name_key", "owner_name", "scale", "legal_form",
                                        "kelurahan", "kecamatan", "phone", "address", "capital",
                                        "annual_turnover", "workforce_men", "workforce_women",
                                        "cert_halal", "cert_pirt", "cert_sni")}
    row["kbli_codes"] = ",".join(sorted(record["kbli"]))
    row["created_at"] = row["updated_at"] = now
    return row


def _merged_update(business: Business, record: dict, now) -> dict | None:
    """Unite KBLI codes and fill blanks of an existing business; None when nothing changes."""
    changes = {}
    codes = set(business.kbli_list) | record["kbli"]
    if codes != set(business.kbli_list):
        changes["kbli_codes"] = ",".join(sorted(codes))
    for key in ("phone", "address", "capital", "annual_turnover", "legal_form"):
        if getattr(business, key) in (None, "") and record.get(key) not in (None, ""):
            changes[key] = record[key]
    for key in ("cert_halal", "cert_pirt", "cert_sni"):
        if record[key] and not getattr(business, key):
            changes[key] = True
    if not changes:
        return None
    return {"id": business.id, "updated_at": now, **changes}


def import_roster(filename: str, data: bytes, progress=None) -> ImportResult:
    """The businesses of a roster file, all or nothing; `ids` are the businesses to invite.

    A file with only `nib` and `nama_usaha` names businesses that must already be stored: each
    row is matched by NIB and normalised name, and a row that matches none is reported. Any
    other file is a business file, imported (created or merged) as `import_businesses` does.
    """
    header, rows = read_table(filename, data)
    if not set(header) <= set(ROSTER_COLUMNS):
        return _import_businesses(filename, data, progress=progress)
    result = ImportResult(errors=check_header(header, ROSTER_COLUMNS))
    if result.errors:
        return result

    parsed, result.errors = _rows(header, rows, ROSTER_COLUMNS, business_key, progress)
    result.rows = len(parsed)
    if not parsed and not result.errors:
        result.errors.append(RowError(2, "-", _("The file has no data rows.")))
    matched = _matching_ids({key for _number, key in parsed if key})  # one lookup for the whole file
    result.errors += [RowError(number, "nib", not_registered_message()) for number, key in parsed
                      if key and key not in matched]
    result.errors.sort(key=lambda error: error.row)
    if result.errors:
        return result
    result.ids = list(dict.fromkeys(matched[key] for _number, key in parsed))
    result.merged = len(parsed)
    return result


def business_key(reader: RowReader) -> tuple[str, str] | None:
    """The (NIB, name key) a row names by `nib` and `nama_usaha`, or None with the row's error."""
    nib = normalize_nib(reader.text("nib", required=True, max_length=30))
    name = reader.text("nama_usaha", required=True)
    if nib and (message := check_nib(nib)):
        reader.error("nib", message)
    elif nib and name:
        return nib, normalize_business_name(name)
    return None


def not_registered_message() -> str:
    """Translated when used, in the request's language."""
    return _("No business with this NIB and name; import the businesses first.")


def registered_business(reader: RowReader) -> Business | None:
    """The stored business a row names by `nib` and `nama_usaha`; an error on the row if none."""
    key = business_key(reader)
    if key is None:
        return None
    business = find_business(*key)
    if business is None:
        reader.error("nib", not_registered_message())
    return business


def find_business(nib: str, name_key: str) -> Business | None:
    """The stored business with this NIB and name key (the oldest, as in `_matching_ids`)."""
    return db.session.scalar(select(Business).where(Business.nib == nib, Business.name_key == name_key)
                             .order_by(Business.id))


def import_proposals(themed_session: ThemedSession, filename: str, data: bytes, actor: Actor,
                     progress=None) -> ImportResult:
    """Validate every row, then create submitted proposals with receipt numbers, all or nothing.

    Raises ImportRefused, before reading the file, when the session takes no proposals.
    """
    from participation.proposals import services as proposal_services

    if not accepts_proposal_imports(themed_session):
        raise ImportRefused(proposal_imports_closed_message())
    header, rows = read_table(filename, data)
    result = ImportResult(errors=check_header(header, PROPOSAL_COLUMNS))
    if result.errors:
        return result
    categories = {category.name.strip().lower(): category.id for category in themed_session.categories}
    used_numbers = set(db.session.scalars(select(Proposal.paper_form_number).where(
        Proposal.session_id == themed_session.id, Proposal.paper_form_number.is_not(None))))

    def parse(reader: RowReader) -> dict:
        def place(column: str) -> str:
            # Optional (the business's own place is used when blank), but letters as on the form.
            value = normalize_place(reader.text(column, max_length=100)) or ""
            reader.check(column, check_place(value))
            return value

        business = registered_business(reader)
        category_name = reader.text("kategori", required=True, max_length=120)
        category_id = categories.get(category_name.lower())
        if category_name and category_id is None:
            reader.error("kategori", _("Unknown category; use one of: %(names)s.",
                                       names=", ".join(c.name for c in themed_session.categories)))
        cost = reader.number("perkiraan_biaya", required=True, maximum=10**13)
        if cost == 0:
            reader.error("perkiraan_biaya", _("The estimated cost must be above zero."))
        title = reader.text("judul", required=True)
        if title and len(title) < 5:
            reader.error("judul", _("The title must be 5 to 200 characters."))
        form_number = reader.text("nomor_formulir", max_length=30) or None
        if form_number in used_numbers:
            reader.error("nomor_formulir", _("This form number is already used in the session."))
        elif form_number:
            used_numbers.add(form_number)
        return {
            "business": business, "title": title,
            "problem": reader.text("masalah", required=True, max_length=5000, multiline=True),
            "description": reader.text("deskripsi", required=True, max_length=10000, multiline=True),
            "category_id": category_id, "estimated_cost": cost,
            "beneficiaries": reader.number("penerima_manfaat", required=True, maximum=10_000_000),
            "jobs_created": reader.number("tenaga_kerja_baru", required=True, maximum=1_000_000),
            **{column: place(column) for column in ("kelurahan", "kecamatan")},
            "paper_form_number": form_number,
        }

    parsed, result.errors = _rows(header, rows, PROPOSAL_COLUMNS, parse, progress)
    result.rows = len(parsed)
    if not parsed and not result.errors:
        result.errors.append(RowError(2, "-", _("The file has no data rows.")))
    if result.errors:
        return result
    for number, record in parsed:
        business = record.pop("business")
        paper_number = record.pop("paper_form_number")
        try:
            proposal = proposal_services.new_proposal(
                themed_session, business, record, actor, submit=True, source=ProposalSource.IMPORT,
                paper_form_number=paper_number, check_window=False)
        except proposal_services.ProposalError as error:
            if error.code == "limit":
                result.errors.append(RowError(number, "nib", _(
                    "This business already has the maximum of %(n)d proposals in the session.",
                    n=error.details["limit"])))
                continue
            raise
        result.ids.append(proposal.id)
        result.flagged += proposal.near_duplicate_of_id is not None
    result.created = len(result.ids)
    if result.ok:
        events.record("proposals.imported", actor, themed_session, object_type="ThemedSession",
               after={"file": filename[:100], "rows": result.rows, "created": result.created,
                      "flagged": result.flagged})
    return result
