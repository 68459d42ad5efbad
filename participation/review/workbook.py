"""The ranking as an XLSX workbook for people: in the reader's language, figures kept exact.

The JSON export (DESIGN §7) is the machine contract; this workbook says the same in words: headers,
yes/no, outcomes, the decision's reason and why a proposal is not funded, methods by name. Numbers
keep their full precision in the cell and are rounded only by the cell's number format; text a
spreadsheet would run as a formula is written as plain text.
"""
from __future__ import annotations

import io
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import pgettext

from participation.i18n import date_time
from participation.models import (
    CriterionSource,
    Normalization,
    Outcome,
    RatingAggregation,
    ScoringMethod,
    SelectionMethod,
    SessionStatus,
    ThemedSession,
)

RUPIAH_FORMAT = '"Rp"#,##0'
SCORE_FORMAT = "0.0000"
RATING_FORMAT = "0.00"
COUNT_FORMAT = "#,##0"
WEIGHT_FORMAT = "0.0%"
CR_FORMAT = "0.000"
# Facts of the session sheet whose value is an enum's code: column B says it in words, C keeps the code.
CODED_FACTS = {"status": SessionStatus, "method": ScoringMethod, "normalization": Normalization,
               "selection": SelectionMethod, "aggregation": RatingAggregation}


def _text(cell, value) -> None:
    """Write `value` as plain text, never as a formula."""
    cell.value = value
    cell.data_type = "s"


def _put(cell, value, number_format: str | None = None) -> None:
    if isinstance(value, str):
        _text(cell, value)
    else:
        cell.value = value
        if number_format and value is not None:
            cell.number_format = number_format


def yes_no(flag: bool | None) -> str:
    """Ya / Tidak, or a dash for a proposal that is not ranked."""
    if flag is None:
        return "–"
    return _("Yes") if flag else _("No")


def value_format(source: str) -> str:
    """How a criterion's raw values are shown: money in Rupiah, counts whole, ratings to two places."""
    member = CriterionSource.of(source)
    if member is CriterionSource.ESTIMATED_COST:
        return RUPIAH_FORMAT
    if member is CriterionSource.RATING:
        return RATING_FORMAT
    return COUNT_FORMAT


def _header(sheet, names) -> None:
    from openpyxl.styles import Font

    for column, name in enumerate(names, start=1):
        _text(sheet.cell(row=1, column=column), name)
        sheet.cell(row=1, column=column).font = Font(bold=True)
    sheet.freeze_panes = "A2"


def _ranking_sheet(sheet, payload: dict, reasons: dict[str, str]) -> None:
    from participation.review.ranking import why_not_selected_in

    criteria = payload["criteria"]
    _header(sheet, [_("Rank"), _("Receipt number"), _("Title"), _("Business"), _("Category"), _("Estimated cost"),
                    _("Score"), _("Selected"), _("Decision"), _("Reason for the decision"), _("Budget note"),
                    *(criterion["name"] for criterion in criteria)])
    for row, line in enumerate(payload["proposals"], start=2):
        outcome = Outcome.of(line["decision"])
        why = why_not_selected_in(payload, line)
        cells = [(line["rank"], None), (line["receipt_number"], None), (line["title"], None),
                 (line["business"], None), (line["category"] or "–", None), (line["estimated_cost"], RUPIAH_FORMAT),
                 (line["score"], SCORE_FORMAT), (yes_no(line["selected"]), None),
                 (str(outcome.label) if outcome else "–", None),
                 (reasons.get(line["receipt_number"], "") if outcome else "", None),
                 (str(why) if why else "", None)]
        cells += [(line["values"].get(criterion["key"]), value_format(criterion["source"])) for criterion in criteria]
        for column, (value, number_format) in enumerate(cells, start=1):
            _put(sheet.cell(row=row, column=column), value, number_format)
    for column, width in zip("ABCDEFGHIJK", (10, 18, 50, 30, 28, 18, 10, 10, 16, 50, 50), strict=True):
        sheet.column_dimensions[column].width = width


def _criteria_sheet(sheet, payload: dict) -> None:
    _header(sheet, [_("Key"), _("Criterion"), _("Weight"), _("Direction"), _("Source")])
    for row, criterion in enumerate(payload["criteria"], start=2):
        direction = _("benefit") if criterion["direction"] == 1 else _("cost")
        cells = [(criterion["key"], None), (criterion["name"], None), (criterion["weight"], WEIGHT_FORMAT),
                 (direction[:1].upper() + direction[1:], None),
                 (str(CriterionSource.label_of(criterion["source"])), None)]
        for column, (value, number_format) in enumerate(cells, start=1):
            _put(sheet.cell(row=row, column=column), value, number_format)
    for column, width in zip("ABCDE", (24, 40, 10, 12, 34), strict=True):
        sheet.column_dimensions[column].width = width


def _session_sheet(sheet, payload: dict, themed_session: ThemedSession | None) -> None:
    session = payload["session"]
    generated = datetime.strptime(payload["generated_at"], "%Y-%m-%dT%H:%M:%SZ")
    facts = [("id", _("Session number"), session["id"], None), ("title", _("Title"), session["title"], None),
             ("status", _("Status"), session["status"], None),
             ("budget_ceiling", _("Budget ceiling"), session["budget_ceiling"], RUPIAH_FORMAT),
             ("method", _("Scoring method"), payload["method"], None),
             ("normalization", _("Normalisation (SAW)"), payload["normalization"], None),
             ("selection", _("Selection within the budget"), payload["selection"], None),
             *_aggregation_facts(payload),
             ("generated_at", _("Ranking computed at"), date_time(generated), None)]
    if themed_session is not None:
        facts += [("theme", _("Theme"), themed_session.theme or "–", None),
                  ("venue", _("Venue"), themed_session.venue or "–", None),
                  ("fiscal_year", _("Budget year"), themed_session.fiscal_year, None)]
        if themed_session.weights_from_ahp:
            facts.append(("ahp_cr", _("AHP consistency ratio"), themed_session.ahp_cr, CR_FORMAT))
            if themed_session.ahp_override_reason:
                facts.append(("ahp_override_reason", _("Reason for applying inconsistent weights"),
                              themed_session.ahp_override_reason, None))
    for row, (key, label, value, number_format) in enumerate(facts, start=1):
        _text(sheet.cell(row=row, column=1), label)
        if key in CODED_FACTS:  # the words for people in B; C keeps the code of the JSON export
            _text(sheet.cell(row=row, column=2), str(CODED_FACTS[key].label_of(value)))
            _text(sheet.cell(row=row, column=3), value)
        else:
            _put(sheet.cell(row=row, column=2), value, number_format)
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 50


def _aggregation_facts(payload: dict) -> list[tuple]:
    """How the ratings were combined, and how many planners had to rate (a snapshot before the setting: mean)."""
    from participation.review.agreement import aggregation_of

    aggregation = aggregation_of(payload)
    min_raters = aggregation["min_raters"]
    return [("aggregation", _("Combining the planners' ratings"), aggregation["method"], None),
            ("min_raters", _("Planners who must rate a proposal"),
             _("Every planner") if min_raters is None else min_raters, None)]


def to_xlsx(payload: dict, themed_session: ThemedSession | None,
            reasons: dict[str, str] | None = None) -> bytes:
    """Three sheets: the ranking, the criteria, the session; `reasons` are the decisions' by receipt."""
    from openpyxl import Workbook

    workbook = Workbook()
    ranking = workbook.active
    ranking.title = pgettext("sheet", "Ranking")
    _ranking_sheet(ranking, payload, reasons or {})
    _criteria_sheet(workbook.create_sheet(pgettext("sheet", "Criteria")), payload)
    _session_sheet(workbook.create_sheet(pgettext("sheet", "Session")), payload, themed_session)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

