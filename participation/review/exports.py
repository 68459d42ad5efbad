"""The ranking as JSON (the contract of DESIGN §7), CSV and XLSX."""
from __future__ import annotations

import csv
import io
import json

from participation.models import Normalization, ScoringMethod, SelectionMethod, SessionStatus, ThemedSession

FORMATS = {"json": "application/json", "csv": "text/csv",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
RUPIAH_FORMAT = '"Rp"#,##0'
# Facts of the "Sesi" sheet whose value is an enum's code.
CODED_FACTS = {"status": SessionStatus, "method": ScoringMethod, "normalization": Normalization,
               "selection": SelectionMethod}
COLUMNS = ("rank", "receipt_number", "title", "business", "category", "estimated_cost", "score", "selected",
           "decision")


def current_payload(themed_session: ThemedSession) -> dict:
    """A finalised session exports its latest snapshot (immutable); others their live ranking."""
    from participation.review.services import official_ranking

    return official_ranking(themed_session).payload


def render(payload: dict, fmt: str, themed_session: ThemedSession | None = None) -> tuple[bytes, str]:
    """The payload in `fmt`, with its MIME type."""
    if fmt == "json":
        return json.dumps(payload, ensure_ascii=False, indent=2).encode(), FORMATS[fmt]
    if fmt == "csv":
        return to_csv(payload), FORMATS[fmt]
    if fmt == "xlsx":
        return to_xlsx(payload, themed_session), FORMATS[fmt]
    raise ValueError(f"unknown format {fmt!r}")


def neutralise(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _rows(payload: dict):
    keys = [criterion["key"] for criterion in payload["criteria"]]
    yield [*COLUMNS, *keys]
    for item in payload["proposals"]:
        yield [item[column] for column in COLUMNS] + [item["values"].get(key) for key in keys]


def to_csv(payload: dict) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads it right), formula-like cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in _rows(payload):
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _text(cell, value):
    """Write `value` as plain text, never as a formula."""
    cell.value = value
    cell.data_type = "s"


def to_xlsx(payload: dict, themed_session: ThemedSession | None) -> bytes:
    """Three sheets: the ranking (frozen header, Rupiah format), the criteria, the session."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Peringkat"
    header = next(_rows(payload))
    for column, name in enumerate(header, start=1):
        _text(sheet.cell(row=1, column=column), name)
        sheet.cell(row=1, column=column).font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row_number, row in enumerate(list(_rows(payload))[1:], start=2):
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row=row_number, column=column)
            if isinstance(value, str):
                _text(cell, value)
            else:
                cell.value = value
            if header[column - 1] == "estimated_cost":
                cell.number_format = RUPIAH_FORMAT
    for column, width in zip("ABCDEFGHI", (6, 15, 50, 30, 28, 18, 10, 9, 12), strict=True):
        sheet.column_dimensions[column].width = width

    criteria = workbook.create_sheet("Kriteria")
    for column, name in enumerate(("key", "name", "weight", "direction", "source"), start=1):
        _text(criteria.cell(row=1, column=column), name)
        criteria.cell(row=1, column=column).font = Font(bold=True)
    for row_number, criterion in enumerate(payload["criteria"], start=2):
        for column, name in enumerate(("key", "name", "weight", "direction", "source"), start=1):
            value = criterion[name]
            if isinstance(value, str):
                _text(criteria.cell(row=row_number, column=column), value)
            else:
                criteria.cell(row=row_number, column=column, value=value)
    criteria.freeze_panes = "A2"

    meta = workbook.create_sheet("Sesi")
    session = payload["session"]
    facts = [("id", session["id"]), ("title", session["title"]), ("status", session["status"]),
             ("budget_ceiling", session["budget_ceiling"]), ("method", payload["method"]),
             ("normalization", payload["normalization"]), ("selection", payload["selection"]),
             ("generated_at", payload["generated_at"])]
    if themed_session is not None:
        facts += [("theme", themed_session.theme), ("venue", themed_session.venue),
                  ("fiscal_year", themed_session.fiscal_year)]
    for row_number, (name, value) in enumerate(facts, start=1):
        _text(meta.cell(row=row_number, column=1), name)
        if isinstance(value, str):
            _text(meta.cell(row=row_number, column=2), value)
        else:
            meta.cell(row=row_number, column=2, value=value)
        if name in CODED_FACTS:  # column B keeps the code of the JSON export; C says it for people
            _text(meta.cell(row=row_number, column=3), str(CODED_FACTS[name].label_of(value)))
        if name == "budget_ceiling":
            meta.cell(row=row_number, column=2).number_format = RUPIAH_FORMAT
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
