"""Follow-up from a CSV or XLSX file (DESIGN §6), all rows or none, and the export in the same columns."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

from flask_babel import gettext as _

from participation import events
from participation.events import Actor
from participation.followup.services import FollowUpError, check_update, follow_ups_of, record_update
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
from participation.models import FollowUpStatus, ThemedSession
from participation.review.exports import neutralise

FOLLOW_UP_COLUMNS = {"nomor_tanda_terima": True, "tanggal": True, "status": True, "progres_fisik": True,
                     "realisasi_anggaran": True, "catatan": False}
# The service's field names as the file's columns, so that a rule's message lands on its cell.
COLUMN_OF = {"dated": "tanggal", "status": "status", "progress": "progres_fisik", "realised": "realisasi_anggaran",
             "note": "catatan", "cancel_reason": "catatan"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _read_date(reader: RowReader) -> date | None:
    """YYYY-MM-DD, or an XLSX date cell (read as 'YYYY-MM-DD 00:00:00')."""
    text = reader.text("tanggal", required=True, max_length=40)
    if not text:
        return None
    head = text[:10]
    try:
        if len(text) == 10 or (len(text) > 10 and text[10:].strip() in ("00:00:00", "")):
            return date.fromisoformat(head)
    except ValueError:
        pass
    reader.error("tanggal", _("Enter the date as YYYY-MM-DD, for example 2027-03-15."))
    return None


def _read_status(reader: RowReader) -> FollowUpStatus | None:
    text = reader.text("status", required=True, max_length=40).lower()
    if not text:
        return None
    try:
        return FollowUpStatus(text)
    except ValueError:
        reader.error("status", _("Unknown status; use one of: %(names)s.",
                                 names=", ".join(status.value for status in FollowUpStatus)))
        return None


def _read_progress(reader: RowReader) -> int | None:
    text = reader.text("progres_fisik", required=True, max_length=40).rstrip("%").strip()
    if not text:
        return None
    if text.endswith((".0", ",0")):
        text = text[:-2]
    if not text.isdigit() or int(text) > 100:
        reader.error("progres_fisik", _("Physical progress must be a whole number from 0 to 100."))
        return None
    return int(text)


def import_follow_up(themed_session: ThemedSession, filename: str, data: bytes, actor: Actor,
                     progress=None, limits: TableLimits | None = None) -> ImportResult:
    """Check every row (receipt number of a funded proposal of the session, date, status, progress,
    realised budget, note), then record one update per row in the file's order, all or nothing.

    A cancellation's reason is its `catatan`. Raises ImportRefused when the session has no follow-up.
    """
    follow_ups = {f.proposal.receipt_number: f for f in follow_ups_of(themed_session)}
    if not themed_session.is_published or not follow_ups:
        raise ImportRefused(_("This session has no follow-up: it is not finalised or funded nothing."))
    header, rows = read_table(filename, data, limits)
    result = ImportResult(errors=check_header(header, FOLLOW_UP_COLUMNS))
    if result.errors:
        return result

    def parse(reader: RowReader) -> dict:
        receipt = reader.text("nomor_tanda_terima", required=True, max_length=20).upper()
        follow_up = follow_ups.get(receipt)
        if receipt and follow_up is None:
            reader.error("nomor_tanda_terima", _("Unknown receipt number: no funded proposal of this session has it."))
        record = {"follow_up": follow_up, "dated": _read_date(reader), "status": _read_status(reader),
                  "progress": _read_progress(reader),
                  "realised": reader.number("realisasi_anggaran", required=True, maximum=10**13, example=12_500_000),
                  "note": reader.text("catatan", max_length=2000, multiline=True)}
        if follow_up is not None and not any(error.row == reader.row for error in reader.errors):
            try:
                check_update(follow_up, record["dated"], record["status"], record["progress"], record["realised"],
                             record["note"], record["note"])
            except FollowUpError as error:
                for field, message in error.problems.items():
                    reader.error(COLUMN_OF.get(field, "-"), message)
        return record

    parsed, result.errors = parse_rows(header, rows, FOLLOW_UP_COLUMNS, parse, progress, limits)
    result.rows = len(parsed)
    if not parsed and not result.errors:
        result.errors.append(RowError(2, "-", _("The file has no data rows.")))
    result.errors.sort(key=lambda error: error.row)
    if result.errors:
        return result
    for number, record in parsed:
        try:
            update = record_update(actor, record["follow_up"], record["dated"], record["status"], record["progress"],
                                   record["realised"], record["note"], record["note"])
        except FollowUpError as error:  # e.g. the actor may not record this one
            result.errors += [RowError(number, COLUMN_OF.get(field, "nomor_tanda_terima"), message)
                              for field, message in error.problems.items()]
            continue
        result.ids.append(update.id)
    if result.errors:
        result.ids = []
        return result
    result.created = len(result.ids)
    events.record("follow_up.imported", actor, themed_session, object_type="ThemedSession",
                  after={"file": filename[:100], "rows": result.rows, "updates": result.created})
    return result


def export_rows(themed_session: ThemedSession) -> list[list]:
    """The current follow-up in the import's columns: each funded proposal's latest state, dated by its
    newest update (blank before the first), its note; by receipt number."""
    rows = [list(FOLLOW_UP_COLUMNS)]
    for follow_up in follow_ups_of(themed_session):
        newest = max(follow_up.updates, key=lambda entry: (entry.dated, entry.id), default=None)
        note = (newest.cancel_reason or newest.note) if newest else ""
        rows.append([follow_up.proposal.receipt_number, newest.dated.isoformat() if newest else "",
                     follow_up.status.value, follow_up.progress, follow_up.realised_amount, note])
    return rows


def export_csv(themed_session: ThemedSession) -> bytes:
    """UTF-8 with a byte-order mark, formula-like text neutralised (as the ranking's export)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in export_rows(themed_session):
        writer.writerow([neutralise(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode()


def export_xlsx(themed_session: ThemedSession) -> bytes:
    """One sheet in the import's columns; text cells are written as text, formula-like ones neutralised."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "tindak_lanjut"
    for row in export_rows(themed_session):
        sheet.append([neutralise(value) for value in row])
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text starts with
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_name(themed_session: ThemedSession, fmt: str) -> str:
    return f"tindak-lanjut-sesi-{themed_session.id}-{datetime.now():%Y%m%d}.{fmt}"
