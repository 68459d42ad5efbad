"""Proposal files: every row checked against the session, then submitted with receipt numbers, all or nothing."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from participation import database, events
from participation.events import Actor
from participation.extensions import db
from participation.intake.imports.businesses import (
    CONFIRM_COLUMN,
    business_key,
    confirms_owner,
    existing_businesses,
    not_registered_message,
    owner_confirmation_message,
)
from participation.intake.imports.tables import (
    ImportRefused,
    ImportResult,
    RowError,
    RowReader,
    TableLimits,
    check_header,
    parse_rows,
    read_table,
)
from participation.models import Proposal, ProposalSource, ThemedSession
from participation.places import current_city

PROPOSAL_COLUMNS = {
    "nib": True, "nama_usaha": True, "judul": True, "masalah": True, "deskripsi": True, "kategori": True,
    "perkiraan_biaya": True, "penerima_manfaat": True, "tenaga_kerja_baru": True, "kelurahan": False,
    "kecamatan": False, "nomor_formulir": False, "konfirmasi_akun": False, "volume": False, "satuan": False,
}


def accepts_proposal_imports(themed_session: ThemedSession) -> bool:
    """Imported proposals, like paper ones, arrive while the session is open or under review."""
    from participation.intake.services import PAPER_STATUSES

    return themed_session.status in PAPER_STATUSES


def proposal_imports_closed_message() -> str:
    """Why a session refuses imported proposals, for the page and the command line."""
    return _("Proposals can be imported only while the session is open or under review.")


def import_proposals(themed_session: ThemedSession, filename: str, data: bytes, actor: Actor,
                     progress=None, limits: TableLimits | None = None, checkpoint=None) -> ImportResult:
    """Validate every row, then create submitted proposals with receipt numbers, all or nothing.

    `checkpoint()`, when given, is called once everything is read and checked and before the
    first write: a background job commits there, so that its write transaction stays short.

    Raises ImportRefused, before reading the file, when the session takes no proposals.
    """
    from participation.proposals import bulk

    if not accepts_proposal_imports(themed_session):
        raise ImportRefused(proposal_imports_closed_message())
    header, rows = read_table(filename, data, limits)
    result = ImportResult(errors=check_header(header, PROPOSAL_COLUMNS))
    if result.errors:
        return result
    categories = {category.name.strip().lower(): category.id for category in themed_session.categories}
    used_numbers = set(db.session.scalars(select(Proposal.paper_form_number).where(
        Proposal.session_id == themed_session.id, Proposal.paper_form_number.is_not(None))))

    city = current_city()

    def parse(reader: RowReader) -> dict:
        business = (business_key(reader), confirms_owner(reader))  # looked up for all rows at once, below
        category_name = reader.text("kategori", required=True, max_length=120)
        category_id = categories.get(category_name.lower())
        if category_name and category_id is None:
            reader.error("kategori", _("Unknown category; use one of: %(names)s.",
                                       names=", ".join(c.name for c in themed_session.categories)))
        cost = reader.number("perkiraan_biaya", required=True, maximum=10**13, example=15_000_000)
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
            "beneficiaries": reader.number("penerima_manfaat", required=True, maximum=10_000_000, example=25),
            "jobs_created": reader.number("tenaga_kerja_baru", required=True, maximum=1_000_000, example=3),
            "volume": reader.volume("volume"),
            "satuan": reader.text("satuan", max_length=50),
            # Optional (the business's own place is used when blank), checked as on the form.
            **reader.place(city, required=False),
            "paper_form_number": form_number,
        }

    parsed, result.errors = parse_rows(header, rows, PROPOSAL_COLUMNS, parse, progress, limits)
    result.rows = len(parsed)
    if not parsed and not result.errors:
        result.errors.append(RowError(2, "-", _("The file has no data rows.")))
    existing = existing_businesses({key for _number, record in parsed if (key := record["business"][0])})
    for number, record in parsed:
        key, confirmed = record["business"]
        business = existing.get(key) if key else None
        if key and business is None:
            result.errors.append(RowError(number, "nib", not_registered_message()))
        elif business is not None and business.has_account and not confirmed:
            result.errors.append(RowError(number, CONFIRM_COLUMN, owner_confirmation_message(business)))
        record["business"] = business
    result.errors.sort(key=lambda error: error.row)
    if result.errors:
        return result
    rows = [bulk.Row(number, bulk.BusinessRef.of(record.pop("business")), record, record.pop("paper_form_number"))
            for number, record in parsed]
    near = bulk.plan_near_duplicates(themed_session, rows)
    if checkpoint:
        checkpoint()  # every row is checked and nothing is written yet: a job ends its reading here
    staged = bulk.stage(themed_session, rows, actor, near, source=ProposalSource.IMPORT)
    database.take_write_lock()  # a job inside database.deferring() waits for the lock only now
    limit = themed_session.max_proposals_per_business
    result.errors = [RowError(row.number, "nib", _(
        "This business already has the maximum of %(n)d proposals in the session.", n=limit))
        for row in bulk.over_limit(themed_session, rows)]
    if result.errors:
        return result
    result.ids, near_duplicates = bulk.submit_many(staged)
    result.flagged = len(near_duplicates)
    result.created = len(result.ids)
    if result.ok:
        events.record("proposals.imported", actor, themed_session, object_type="ThemedSession",
               after={"file": filename[:100], "rows": result.rows, "created": result.created,
                      "flagged": result.flagged})
    return result
