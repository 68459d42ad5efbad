"""Forms generated per session: ratings, votes, what-if weights, AHP comparisons, finalisation."""
from __future__ import annotations

from fractions import Fraction
from itertools import combinations

from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from participation.forms import BaseForm, WholeNumberField, select_choices
from participation.models import ConflictKind, Outcome
from participation.sessions.forms import DecimalTextField

SAATY = (9, 8, 7, 6, 5, 4, 3, 2, 1, Fraction(1, 2), Fraction(1, 3), Fraction(1, 4), Fraction(1, 5),
         Fraction(1, 6), Fraction(1, 7), Fraction(1, 8), Fraction(1, 9))
# Every level has its words, the even ones between their neighbours (Saaty's intermediate values).
SAATY_WORDS = {1: _l("equally important"), 2: _l("equally to moderately more important"),
               3: _l("moderately more important"), 4: _l("moderately to strongly more important"),
               5: _l("strongly more important"), 6: _l("strongly to very strongly more important"),
               7: _l("very strongly more important"), 8: _l("very strongly to extremely more important"),
               9: _l("extremely more important")}


class RequiredWhenInconsistent:
    """Marks the override reason as needed (no "(optional)"): the page shows it only when CR > 0.10,
    and the service refuses inconsistent weights without it."""

    field_flags = {"required_to_submit": True}

    def __call__(self, form, field):
        return None


def _correction_field():
    return TextAreaField(_l("Reason for the correction"), validators=[
        Optional(), Length(max=1000, message=_l("At most 1,000 characters."))],
        description=_l("The session is finalised: a change is a correction, needs a reason and creates a "
                       "new version of the final ranking."), render_kw={"rows": 2})


def make_rating_form(themed_session, criteria):
    """A form with one rating per `rating` criterion of the session, on its own scale."""

    class RatingForm(BaseForm):
        correction_reason = _correction_field()

        def rating_fields(self):
            """(criterion, value field, version field) in the session's order."""
            return [(c, self[f"rating_{c.id}"], self[f"version_{c.id}"]) for c in criteria]

        def values(self) -> dict[int, float]:
            return {c.id: float(self[f"rating_{c.id}"].data) for c in criteria}

        def versions(self) -> dict[int, int | None]:
            seen = {}
            for c in criteria:
                raw = self[f"version_{c.id}"].data or ""
                seen[c.id] = int(raw) if raw.isdigit() and len(raw) <= 9 else None
            return seen

    for criterion in criteria:
        scale = range(criterion.scale_min, criterion.scale_max + 1)
        setattr(RatingForm, f"rating_{criterion.id}", RadioField(
            criterion.name, choices=select_choices((str(v), str(v)) for v in scale),
            validators=[InputRequired(_l("Choose a rating."))]))
        setattr(RatingForm, f"version_{criterion.id}", HiddenField())
    return RatingForm


def make_votes_form(proposals):
    """One vote count per proposal."""

    class VotesForm(BaseForm):
        def vote_fields(self):
            return [(p, self[f"votes_{p.id}"]) for p in proposals]

        def values(self) -> dict[int, int]:
            """Votes for the proposals whose box was filled in; an empty box changes nothing."""
            return {p.id: self[f"votes_{p.id}"].data for p in proposals
                    if self[f"votes_{p.id}"].data is not None}

    for proposal in proposals:
        setattr(VotesForm, f"votes_{proposal.id}", WholeNumberField(
            proposal.receipt_number or proposal.title, maximum=1_000_000, example=12, default=proposal.votes,
            validators=[Optional()]))
    return VotesForm


def make_whatif_form(themed_session):
    """Weights to try out (a GET form: nothing is saved)."""

    class WhatIfForm(BaseForm):
        class Meta:
            csrf = False

        def weight_fields(self):
            return [(c, self[f"w{c.id}"]) for c in themed_session.criteria]

        def weights(self):
            return [self[f"w{c.id}"].data for c in themed_session.criteria]

        def validate(self, extra_validators=None):
            valid = super().validate(extra_validators)
            if valid and sum(self.weights()) <= 0:
                self.form_errors.append(_("At least one criterion needs a weight above zero."))
                return False
            return valid

    for criterion in themed_session.criteria:
        setattr(WhatIfForm, f"w{criterion.id}", DecimalTextField(
            criterion.name, default=round(criterion.weight, 6), validators=[InputRequired(_l("Enter a weight."))]))
    return WhatIfForm


def saaty_choices(name_a: str, name_b: str):
    """Saaty's 1–9 scale between two criteria, as select options."""
    options = []
    for value in SAATY:
        label = str(value)
        if value == 1:
            text = _("%(value)s — equally important", value=label)
        elif value > 1:
            text = _("%(value)s — %(a)s is %(words)s", value=label, a=name_a,
                     words=SAATY_WORDS[int(value)])
        else:
            text = _("%(value)s — %(b)s is %(words)s", value=label, b=name_b,
                     words=SAATY_WORDS[int(1 / value)])
        options.append((label, text))
    return options


def make_ahp_form(criteria):
    """One Saaty comparison per pair of criteria."""

    class AhpForm(BaseForm):
        def pairs(self):
            return [(a, b, self[f"p{a.id}_{b.id}"]) for a, b in combinations(criteria, 2)]

        def matrix(self) -> list[list[float]]:
            index = {c.id: i for i, c in enumerate(criteria)}
            size = len(criteria)
            matrix = [[1.0] * size for _ in range(size)]
            for a, b, field in self.pairs():
                value = float(Fraction(field.data))
                matrix[index[a.id]][index[b.id]] = value
                matrix[index[b.id]][index[a.id]] = 1.0 / value
            return matrix

    AhpForm.override_reason = TextAreaField(
        _l("Reason for applying inconsistent weights"), validators=[
            RequiredWhenInconsistent(), Optional(),
            Length(max=500, message=_l("The reason for the override must be 5 to 500 characters."))],
        description=_l("5 to 500 characters, in words the forum will recognise in the minutes."),
        render_kw={"rows": 2, "maxlength": 500})

    # gettext, not lazy_gettext, wherever a label carries the planner's text: Jinja and WTForms
    # treat a lazy string as safe HTML (it has __html__), so a criterion name would go out unescaped.
    for a, b in combinations(criteria, 2):
        setattr(AhpForm, f"p{a.id}_{b.id}", SelectField(
            _("%(a)s compared with %(b)s", a=a.name, b=b.name), choices=select_choices(saaty_choices(a.name, b.name)),
            default="1"))
    return AhpForm


class DecisionForm(BaseForm):
    """Prioritise, defer or reject a proposal, with the reason."""

    outcome = RadioField(_l("Decision"), choices=select_choices(Outcome.choices()),
                         validators=[InputRequired(_l("Choose a decision."))])
    reason = TextAreaField(_l("Reason"), validators=[
        InputRequired(_l("Give the reason for the decision.")),
        Length(min=3, max=1000, message=_l("The reason must be 3 to 1,000 characters."))], render_kw={"rows": 3})
    correction_reason = _correction_field()


def make_finalize_form(incomplete_items):
    """A reason field per proposal that cannot be ranked, to exclude it from the final ranking."""

    class FinalizeForm(BaseForm):
        confirm = StringField(_l("Type FINAL to confirm"), validators=[InputRequired(_l("Type FINAL to confirm."))])

        def exclusion_fields(self):
            return [(item, self[f"exclude_{item.proposal.id}"]) for item in incomplete_items]

        def exclusions(self) -> dict[int, str]:
            return {item.proposal.id: self[f"exclude_{item.proposal.id}"].data or "" for item in incomplete_items}

        def validate_confirm(self, field):
            if (field.data or "").strip().upper() != "FINAL":
                raise ValidationError(_("Type FINAL to confirm."))

    for item in incomplete_items:
        setattr(FinalizeForm, f"exclude_{item.proposal.id}", StringField(
            _("Reason to exclude %(receipt)s", receipt=item.proposal.receipt_number),
            validators=[Optional(), Length(max=500, message=_l("At most 500 characters."))]))
    return FinalizeForm


class ConflictForm(BaseForm):
    """Declare a conflict of interest with a business: its kind, a note and, for a planner or an
    admin, the colleague it concerns (choices set by the view)."""

    user_id = SelectField(_l("Staff member concerned"),
                          validators=[InputRequired(_l("Choose the staff member concerned."))])
    kind = SelectField(_l("Kind of conflict"), choices=select_choices(ConflictKind.choices(), _l("Choose…")),
                       validators=[InputRequired(_l("Choose the kind of conflict."))])
    note = TextAreaField(_l("Note"), validators=[
        Optional(), Length(max=500, message=_l("The note may be at most 500 characters."))],
        description=_l("For example: the owner is my cousin. At most 500 characters."),
        render_kw={"rows": 2, "maxlength": 500})
