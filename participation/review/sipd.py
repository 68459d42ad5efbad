"""The funded proposals laid out like SIPD's usulan record (DESIGN §10), and the rules of its codes.

A category gives the OPD (kode/nama SKPD), the Permendagri 90/2019 sub-activity and the kind of
spending; a planner may override the OPD and the sub-activity per proposal. Codes are written as
text cells: "7.01.02.2.01.0001" must never become a number, and text a spreadsheet would run as
a formula is neutralised as in the other exports.
"""
from __future__ import annotations

import io

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from participation.extensions import db
from participation.models import FinalStanding, Proposal, ThemedSession
from participation.validation import check_opd_code, check_sub_activity_code

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# SIPD's usulan column names, in DESIGN §10's order.
COLUMNS = ("id_usulan", "tahun_anggaran", "masalah", "tujuan_usul", "alamat_teks", "nama_kecamatan",
           "id_kecamatan", "nama_kelurahan", "id_kelurahan", "anggaran", "volume", "satuan", "jenis_belanja",
           "kode_skpd", "nama_skpd", "kode_sub_giat", "giat_teks", "pengusul", "status_usul_teks", "rekom_teks")
NUMBER_FORMATS = {"tahun_anggaran": "0", "anggaran": "#,##0", "volume": "#,##0.##"}
# The standings of a funded proposal: selected within the ceiling and not deferred or rejected.
FUNDED_STANDINGS = (FinalStanding.FUNDED, FinalStanding.WITHIN_CEILING)
# The code fields and their checks; a form, the services and any import ask here.
CODE_CHECKS = {"kode_skpd": check_opd_code, "kode_sub_giat": check_sub_activity_code}
OPD_FIELDS = ("kode_skpd", "nama_skpd", "kode_sub_giat", "giat_teks")


class CodeError(ValueError):
    """One or more SIPD codes are not in their format; `problems` maps each field to its message."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(", ".join(problems))
        self.problems = problems


def check_codes(data: dict) -> None:
    """Refuse codes in the wrong format (empty is allowed: the default applies, or none is set yet)."""
    problems = {name: message for name, check in CODE_CHECKS.items()
                if (message := check(data.get(name)))}
    if problems:
        raise CodeError(problems)


def funded_lines(payload: dict) -> list[dict]:
    """The official ranking's funded lines, in rank order (the payload's order, DESIGN §7)."""
    return [line for line in payload["proposals"] if FinalStanding.of_line(line) in FUNDED_STANDINGS]


def _proposals(themed_session: ThemedSession, receipts: list[str]) -> dict[str, Proposal]:
    rows = db.session.scalars(
        select(Proposal).where(Proposal.session_id == themed_session.id, Proposal.receipt_number.in_(receipts))
        .options(selectinload(Proposal.business), selectinload(Proposal.category)))
    return {proposal.receipt_number: proposal for proposal in rows}


def _address(proposal: Proposal) -> str:
    """The business's street address; without one, the proposal's kelurahan and kecamatan."""
    if proposal.business.address:
        return proposal.business.address
    return ", ".join(part for part in (proposal.kelurahan, proposal.kecamatan) if part)


def _purpose(proposal: Proposal) -> str:
    """What is asked for: the title, then the description of the activity."""
    return "\n\n".join(part for part in (proposal.title, proposal.description) if part)


def row_of(line: dict, proposal: Proposal, themed_session: ThemedSession, reasons: dict[str, str]) -> dict:
    """One funded proposal in SIPD's columns; the figures are the official ranking's."""
    kode_skpd, nama_skpd = proposal.sipd_opd
    kode_sub_giat, giat_teks = proposal.sipd_sub_activity
    code = proposal.kelurahan_code or ""
    return {
        "id_usulan": line["receipt_number"], "tahun_anggaran": themed_session.fiscal_year,
        "masalah": proposal.problem, "tujuan_usul": _purpose(proposal), "alamat_teks": _address(proposal),
        "nama_kecamatan": proposal.kecamatan, "id_kecamatan": code[:8], "nama_kelurahan": proposal.kelurahan,
        "id_kelurahan": code, "anggaran": line["estimated_cost"], "volume": proposal.volume,
        "satuan": proposal.satuan, "jenis_belanja": proposal.category.jenis_belanja if proposal.category else "",
        "kode_skpd": kode_skpd, "nama_skpd": nama_skpd, "kode_sub_giat": kode_sub_giat, "giat_teks": giat_teks,
        "pengusul": line["business"], "status_usul_teks": str(FinalStanding.of_line(line).label),
        "rekom_teks": reasons.get(line["receipt_number"], ""),
    }


def rows(themed_session: ThemedSession, payload: dict, reasons: dict[str, str]) -> list[dict]:
    """The funded proposals of the official ranking `payload`, in its rank order.

    In Indonesian whatever the interface language: the rows are carried into SIPD.
    """
    from flask_babel import force_locale

    lines = funded_lines(payload)
    proposals = _proposals(themed_session, [line["receipt_number"] for line in lines])
    with force_locale("id"):
        return [row_of(line, proposals[line["receipt_number"]], themed_session, reasons)
                for line in lines if line["receipt_number"] in proposals]


def _write(cell, column: str, value) -> None:
    """Numbers keep their type with a display format; everything else is a text cell, never a formula."""
    from participation.review.exports import neutralise

    if column in NUMBER_FORMATS:
        cell.value = value
        cell.number_format = NUMBER_FORMATS[column]
        return
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    # XLSX cannot hold control characters (the forms refuse them; an import or older row might not).
    cell.value = neutralise(ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value)))
    cell.data_type = "s"
    cell.number_format = "@"


def to_xlsx(themed_session: ThemedSession, payload: dict, reasons: dict[str, str]) -> bytes:
    """One sheet, `usulan`: a header of SIPD's column names and one row per funded proposal."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "usulan"
    for index, name in enumerate(COLUMNS, start=1):
        _write(sheet.cell(row=1, column=index), "header", name)
        sheet.cell(row=1, column=index).font = Font(bold=True)
    for row_index, row in enumerate(rows(themed_session, payload, reasons), start=2):
        for index, name in enumerate(COLUMNS, start=1):
            _write(sheet.cell(row=row_index, column=index), name, row[name])
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export(themed_session: ThemedSession) -> bytes:
    """The SIPD workbook of the session's official ranking (the latest snapshot once finalised)."""
    from participation.review.services import decision_reasons, official_ranking

    return to_xlsx(themed_session, official_ranking(themed_session).payload, decision_reasons(themed_session))
