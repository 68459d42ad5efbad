"""Business and roster files: rows checked, then merged by NIB plus normalised name, all or nothing."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import insert, select, update

from participation import events
from participation.events import Actor
from participation.extensions import db
from participation.intake.imports.tables import (
    ImportResult,
    RowError,
    RowReader,
    TableLimits,
    check_header,
    parse_rows,
    read_table,
)
from participation.models import Business, LegalForm, Scale, normalize_business_name, utcnow
from participation.places import current_city
from participation.validation import (
    check_kbli,
    check_nib,
    check_phone,
    normalize_nib,
    normalize_phone,
    parse_kbli,
)

BUSINESS_COLUMNS = {
    "nib": True, "nama_usaha": True, "nama_pemilik": True, "kbli": True, "skala": True,
    "kelurahan": True, "kecamatan": True, "telepon": False, "alamat": False, "bentuk_usaha": False,
    "modal": False, "omzet": False, "tenaga_kerja_laki": False, "tenaga_kerja_perempuan": False,
    "sertifikat": False, "konfirmasi_akun": False,
}
# A roster may also be a plain list of businesses already registered: NIB and name only.
ROSTER_COLUMNS = {"nib": True, "nama_usaha": True, "konfirmasi_akun": False}
# A row whose NIB and name match only a business with an account (registered by its owner, or by
# anyone claiming to be) is attached to it only with "ya" in `konfirmasi_akun`: the error lists
# the account so that staff can check with the owner first. One column in the same file keeps the
# import one step, all or nothing, on the web and the command line alike.
CONFIRM_COLUMN = "konfirmasi_akun"


def confirms_owner(reader: RowReader) -> bool:
    """Whether the row says "ya" in `konfirmasi_akun` (empty: no; anything else is an error)."""
    text = reader.text(CONFIRM_COLUMN, max_length=10).lower()
    if text not in ("", "ya"):
        reader.error(CONFIRM_COLUMN, _("Write ya, or leave it empty."))
    return text == "ya"


def owner_confirmation_message(business: Business) -> str:
    """Why a row waits for confirmation, naming the account (its email masked)."""
    return _("This NIB and name belong only to a business with an account: %(owner)s (%(email)s). Check with "
             "the owner, then write ya in this column to attach the row to it.",
             owner=business.user.name, email=business.user.masked_email)


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
    places = reader.place(current_city(), required=True)
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
        "kbli": set(codes), "scale": scale, "legal_form": legal, **places, "phone": phone,
        "address": reader.text("alamat", max_length=300),
        "capital": reader.number("modal", example=50_000_000),
        "annual_turnover": reader.number("omzet", example=300_000_000),
        "workforce_men": reader.number("tenaga_kerja_laki", maximum=100_000, example=5) or 0,
        "workforce_women": reader.number("tenaga_kerja_perempuan", maximum=100_000, example=5) or 0,
        "cert_halal": "halal" in certificates, "cert_pirt": "pirt" in certificates, "cert_sni": "sni" in certificates,
        "confirmed": confirms_owner(reader),
    }


def import_businesses(filename: str, data: bytes, actor: Actor, progress=None,
                      limits: TableLimits | None = None) -> ImportResult:
    """Import a business file, all or nothing; audited as `businesses.imported` when it went in."""
    result = _import_businesses(filename, data, progress, limits)
    if result.ok:
        events.record("businesses.imported", actor, after={"file": filename[:100], "rows": result.rows,
                                                    "created": result.created, "merged": result.merged})
    return result


def _import_businesses(filename: str, data: bytes, progress=None, limits: TableLimits | None = None) -> ImportResult:
    """Validate every row, then merge into existing businesses or create new ones, in one go."""
    header, rows = read_table(filename, data, limits)
    result = ImportResult(errors=check_header(header, BUSINESS_COLUMNS))
    if result.errors:
        return result
    parsed, result.errors = parse_rows(header, rows, BUSINESS_COLUMNS, _business_row, progress, limits)
    result.rows = len(parsed)
    if result.errors or not parsed:
        if not parsed and not result.errors:
            result.errors.append(RowError(2, "-", _("The file has no data rows.")))
        return result

    merged_in_file: dict[tuple[str, str], dict] = {}
    first_row: dict[tuple[str, str], int] = {}
    for number, record in parsed:
        key = (record["nib"], record["name_key"])
        if key in merged_in_file:
            _merge_record(merged_in_file[key], record)
        else:
            merged_in_file[key], first_row[key] = record, number
    existing = existing_businesses(set(merged_in_file))
    result.errors = [RowError(first_row[key], CONFIRM_COLUMN, owner_confirmation_message(business))
                     for key, business in existing.items()
                     if business.has_account and not merged_in_file[key]["confirmed"]]
    if result.errors:
        result.errors.sort(key=lambda error: error.row)
        return result
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


def existing_businesses(keys: set[tuple[str, str]]) -> dict[tuple[str, str], Business]:
    """Stored businesses matching (NIB, name key) pairs of the import, chosen as in `_matching_ids`."""
    matched = _matching_ids(keys)
    wanted = sorted(matched.values())
    by_id = {}
    for start in range(0, len(wanted), 500):
        for business in db.session.scalars(select(Business).where(Business.id.in_(wanted[start:start + 500]))):
            by_id[business.id] = business
    return {key: by_id[business_id] for key, business_id in matched.items()}


def _matching_ids(keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids of stored businesses with these (NIB, name key) pairs: one without an account first, then the oldest.

    A business with an account may be anybody's claim to the NIB and name, so a business staff
    registered wins (as in intake.services.matching_business). Small imports look up their NIBs;
    large ones read the key columns of the whole table once, which stays fast whatever the
    planner's statistics say.
    """
    nibs = sorted({nib for nib, _ in keys})
    columns = (Business.id, Business.nib, Business.name_key, Business.user_id.is_not(None))
    if len(nibs) > 2000:
        candidates = db.session.execute(select(*columns)).all()
    else:
        candidates = []
        for start in range(0, len(nibs), 500):
            candidates += db.session.execute(select(*columns).where(Business.nib.in_(nibs[start:start + 500]))).all()
    matched: dict[tuple[str, str], int] = {}
    for business_id, nib, name_key, _owned in sorted(candidates, key=lambda row: (bool(row[3]), row[0])):
        if (nib, name_key) in keys:
            matched.setdefault((nib, name_key), business_id)
    return matched


def _new_business_row(record: dict, now) -> dict:
    row = {key: record[key] for key in ("nib", "name", "name_key", "owner_name", "scale", "legal_form",
                                        "kelurahan", "kecamatan", "kelurahan_code", "phone", "address", "capital",
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


def import_roster(filename: str, data: bytes, progress=None, limits: TableLimits | None = None) -> ImportResult:
    """The businesses of a roster file, all or nothing; `ids` are the businesses to invite.

    A file with only `nib` and `nama_usaha` names businesses that must already be stored: each
    row is matched by NIB and normalised name, and a row that matches none is reported. Any
    other file is a business file, imported (created or merged) as `import_businesses` does.
    """
    header, rows = read_table(filename, data, limits)
    if not set(header) <= set(ROSTER_COLUMNS):
        return _import_businesses(filename, data, progress=progress, limits=limits)
    result = ImportResult(errors=check_header(header, ROSTER_COLUMNS))
    if result.errors:
        return result

    parsed, result.errors = parse_rows(header, rows, ROSTER_COLUMNS,
                                       lambda reader: (business_key(reader), confirms_owner(reader)), progress,
                                       limits)
    result.rows = len(parsed)
    if not parsed and not result.errors:
        result.errors.append(RowError(2, "-", _("The file has no data rows.")))
    existing = existing_businesses({key for _number, (key, _confirmed) in parsed if key})  # one lookup
    for number, (key, confirmed) in parsed:
        if key and key not in existing:
            result.errors.append(RowError(number, "nib", not_registered_message()))
        elif key and existing[key].has_account and not confirmed:
            result.errors.append(RowError(number, CONFIRM_COLUMN, owner_confirmation_message(existing[key])))
    result.errors.sort(key=lambda error: error.row)
    if result.errors:
        return result
    result.ids = list(dict.fromkeys(existing[key].id for _number, (key, _confirmed) in parsed))
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
    """The stored business a row names by `nib` and `nama_usaha`; an error on the row if none.

    A business with an account is named only with "ya" in `konfirmasi_akun`; without it the
    row's error names the account.
    """
    key = business_key(reader)
    confirmed = confirms_owner(reader)
    if key is None:
        return None
    business = find_business(*key)
    if business is None:
        reader.error("nib", not_registered_message())
    elif business.has_account and not confirmed:
        reader.error(CONFIRM_COLUMN, owner_confirmation_message(business))
        return None
    return business


def find_business(nib: str, name_key: str) -> Business | None:
    """The stored business with this NIB and name key, chosen as in `_matching_ids` (no account first)."""
    return db.session.scalar(select(Business).where(Business.nib == nib, Business.name_key == name_key)
                             .order_by(Business.user_id.is_not(None), Business.id).limit(1))
