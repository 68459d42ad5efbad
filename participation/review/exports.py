"""The ranking as JSON (the contract of DESIGN §7), CSV and XLSX (for people: `review.workbook`), and the
funded proposals in SIPD's layout (`review.sipd`)."""
from __future__ import annotations

import csv
import io
import json

from participation.models import ThemedSession

FORMATS = {"json": "application/json", "csv": "text/csv",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# The funded proposals in SIPD's usulan layout (DESIGN §10; `review.sipd`): for planners only,
# so it is not one of the ranked list's FORMATS, and like xlsx it needs a file.
SIPD_FORMAT = "sipd"
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
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
    if fmt == SIPD_FORMAT:
        from participation.review import sipd
        from participation.review.services import decision_reasons

        return sipd.to_xlsx(themed_session, payload, decision_reasons(themed_session)), sipd.MIMETYPE
    if fmt == "xlsx":
        from participation.review.services import decision_reasons
        from participation.review.workbook import to_xlsx

        reasons = decision_reasons(themed_session) if themed_session is not None else {}
        return to_xlsx(payload, themed_session, reasons), FORMATS[fmt]
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
