"""The forms of the selection-constraints page: must-fund, exclusive groups, category caps."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from participation.forms import BaseForm, WholeNumberField
from participation.review.constraints import MAX_CAP, NAME_MAX, REASON_MAX


def receipt_numbers(text: str | None) -> list[str]:
    """The receipt numbers typed in a field, separated by commas, semicolons, spaces or lines."""
    return [part.upper() for part in re.split(r"[\s,;]+", text or "") if part]


class MustFundForm(BaseForm):
    receipt_number = StringField(_l("Receipt number"), validators=[
        InputRequired(_l("Enter the receipt number of the proposal.")),
        Length(max=20, message=_l("A receipt number has at most 20 characters."))],
        description=_l("For example MT-2027-0001."))
    reason = TextAreaField(_l("Reason it must be funded"), validators=[
        InputRequired(_l("Give the reason this proposal must be funded.")),
        Length(max=REASON_MAX, message=_l("At most 500 characters."))], render_kw={"rows": 2})


class ExclusiveGroupForm(BaseForm):
    name = StringField(_l("Name of the group"), validators=[
        InputRequired(_l("Name the group, for example “two halal certification proposals”.")),
        Length(max=NAME_MAX, message=_l("At most 120 characters."))])
    receipts = TextAreaField(_l("Receipt numbers of its proposals"), validators=[
        InputRequired(_l("Enter the receipt numbers of at least two proposals.")),
        Length(max=2000, message=_l("At most 2,000 characters."))],
        description=_l("Two or more, separated by commas or spaces. At most one of them will be funded."),
        render_kw={"rows": 2})


class CategoryCapForm(BaseForm):
    cap = WholeNumberField(_l("Budget cap (Rupiah)"), minimum=0, maximum=MAX_CAP, example=250_000_000,
                           rupiah=True, too_small=_l("A cap cannot be negative."),
                           description=_l("Leave empty for no cap."))
