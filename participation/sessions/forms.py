"""Forms for planners: session details, categories, criteria, weights, team."""
from __future__ import annotations

import re

from flask_babel import gettext as _, lazy_gettext as _l, to_user_timezone, to_utc
from wtforms import BooleanField, DateTimeLocalField, Field, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import TextInput

from participation.forms import BaseForm, Check, SmallIntegerField, WholeNumberField, select_choices
from participation.models import (
    SPENDING_KINDS, CriterionSource, Normalization, RatingAggregation, ScoringMethod, SelectionMethod,
)
from participation.validation import check_opd_code, check_sub_activity_code, normalize_code

DIRECTION_CHOICES = (("1", _l("Benefit: higher is better")), ("-1", _l("Cost: lower is better")))


class LocalDateTimeField(DateTimeLocalField):
    """A datetime typed in the app's time zone, stored as naive UTC."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format="%Y-%m-%dT%H:%M", **kwargs)

    def process_data(self, value):
        self.data = to_user_timezone(value).replace(tzinfo=None) if value else value

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data = self.data.replace(second=0, microsecond=0)

    @property
    def utc(self):
        """The value converted to naive UTC for storage."""
        return to_utc(self.data) if self.data else None


class DecimalTextField(Field):
    """A non-negative decimal typed with a comma or a point: 0,25 or 0.25 or 25."""

    widget = TextInput()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:g}".replace(".", ",")

    def process_formdata(self, valuelist):
        if not valuelist or valuelist[0] in ("", None):
            self.data = None
            return
        text = str(valuelist[0]).strip().replace(" ", "")
        if not re.fullmatch(r"\d{1,6}([.,]\d{1,6})?", text):
            self.data = None
            raise ValueError(_("Enter a number such as 20 or 0,25."))
        self.data = float(text.replace(",", "."))


class SessionForm(BaseForm):
    """The details of a themed session."""

    title = StringField(_l("Title"), validators=[
        InputRequired(_l("Enter a title.")),
        Length(min=3, max=200, message=_l("The title must be 3 to 200 characters."))])
    theme = StringField(_l("Theme"), validators=[
        Optional(), Length(max=300, message=_l("The theme may be at most 300 characters."))])
    description = TextAreaField(_l("Description"), validators=[
        Optional(), Length(max=5000, message=_l("The description may be at most 5,000 characters."))],
        render_kw={"rows": 4})
    venue = StringField(_l("Venue"), validators=[
        Optional(), Length(max=300, message=_l("The venue may be at most 300 characters."))])
    meeting_start = LocalDateTimeField(_l("Meeting starts"), validators=[Optional()])
    submission_opens_at = LocalDateTimeField(_l("Submissions open"), validators=[Optional()])
    submission_closes_at = LocalDateTimeField(_l("Submissions close"), validators=[Optional()])
    fiscal_year = SmallIntegerField(_l("Budget year"), validators=[
        InputRequired(_l("Enter the budget year.")),
        NumberRange(min=2020, max=2100, message=_l("Enter a year between 2020 and 2100."))],
        description=_l("The year the proposals are for; it appears in receipt numbers."))
    budget_ceiling = WholeNumberField(
        _l("Budget ceiling (Rupiah)"), minimum=1, maximum=10**15, example=500_000_000, rupiah=True,
        too_small=_l("The budget ceiling must be above zero."), validators=[
            InputRequired(_l("Enter the budget ceiling."))])
    max_proposals_per_business = SmallIntegerField(_l("Proposals per business"), default=3, validators=[
        InputRequired(_l("Enter the maximum number of proposals per business.")),
        NumberRange(min=1, max=20, message=_l("Enter 1 to 20."))])
    invitation_only = BooleanField(_l("Only invited businesses may submit"))
    scoring_method = SelectField(_l("Scoring method"), choices=select_choices(ScoringMethod.choices()))
    normalization = SelectField(_l("Normalisation (SAW)"), choices=select_choices(Normalization.choices()))
    selection_method = SelectField(_l("Selection within the budget"),
                                   choices=select_choices(SelectionMethod.choices()))
    rating_aggregation = SelectField(_l("Combining the planners' ratings"), default=RatingAggregation.MEAN.value,
                                     choices=select_choices(RatingAggregation.choices()))
    min_raters = SmallIntegerField(_l("Planners who must rate a proposal"), validators=[
        Optional(), NumberRange(min=1, max=100, message=_l("Enter a whole number of planners, or leave it empty."))],
        description=_l("Leave empty: every planner of the session must rate a proposal before it is ranked."))

    def __init__(self, *args, planner_count: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.planner_count = planner_count

    def validate_min_raters(self, field):
        if field.data is None:
            return
        if self.planner_count < 1:
            raise ValidationError(_("The session has no planner in its team yet: leave this empty."))
        if not 1 <= field.data <= self.planner_count:
            raise ValidationError(_("Enter 1 to %(count)d: the session's team has %(count)d planners.",
                                    count=self.planner_count))

    def validate_submission_closes_at(self, field):
        opens = self.submission_opens_at.data
        if field.data and opens and field.data <= opens:
            raise ValidationError(_("Submissions must close after they open."))

    def session_data(self) -> dict:
        """Cleaned values for the service, datetimes in UTC."""
        return {
            "title": self.title.data, "theme": self.theme.data or "",
            "description": self.description.data or "", "venue": self.venue.data or "",
            "meeting_start": self.meeting_start.utc, "submission_opens_at": self.submission_opens_at.utc,
            "submission_closes_at": self.submission_closes_at.utc, "fiscal_year": self.fiscal_year.data,
            "budget_ceiling": self.budget_ceiling.data,
            "max_proposals_per_business": self.max_proposals_per_business.data,
            "invitation_only": self.invitation_only.data,
            "scoring_method": ScoringMethod(self.scoring_method.data),
            "normalization": Normalization(self.normalization.data),
            "selection_method": SelectionMethod(self.selection_method.data),
            "rating_aggregation": RatingAggregation(self.rating_aggregation.data),
            "min_raters": self.min_raters.data,
        }


class CategoryForm(BaseForm):
    """A new support category."""

    name = StringField(_l("New category"), validators=[
        InputRequired(_l("Enter the category name.")),
        Length(min=2, max=120, message=_l("The name must be 2 to 120 characters."))])


class SipdCodeFields(BaseForm):
    """The OPD and the Permendagri 90/2019 sub-activity that SIPD records for a proposal (DESIGN §10)."""

    kode_skpd = StringField(_l("OPD code (kode SKPD)"), filters=[normalize_code], validators=[
        Optional(), Check(check_opd_code)],
        description=_l("As SIPD writes it, for example 7.01.0.00.0.00.01.0000."),
        render_kw={"autocomplete": "off", "spellcheck": "false"})
    nama_skpd = StringField(_l("OPD name"), validators=[
        Optional(), Length(max=200, message=_l("The OPD name may be at most 200 characters."))])
    kode_sub_giat = StringField(_l("Sub-activity code"), filters=[normalize_code], validators=[
        Optional(), Check(check_sub_activity_code)],
        description=_l("Permendagri 90/2019: urusan, bidang, programme, activity and sub-activity, "
                        "for example 7.01.02.2.01.0001."),
        render_kw={"autocomplete": "off", "spellcheck": "false"})
    giat_teks = StringField(_l("Sub-activity name"), validators=[
        Optional(), Length(max=300, message=_l("The sub-activity name may be at most 300 characters."))])

    def code_data(self) -> dict:
        """The four values for the service ("" where left empty)."""
        return {name: self[name].data or "" for name in ("kode_skpd", "nama_skpd", "kode_sub_giat", "giat_teks")}


class CategorySipdForm(SipdCodeFields):
    """A category's defaults for the SIPD-layout export."""

    # SIPD's own terms: the options are Indonesian whatever the interface language.
    jenis_belanja = SelectField(_l("Kind of spending"), choices=select_choices((kind, kind) for kind in SPENDING_KINDS),
                                validators=[InputRequired(_l("Choose the kind of spending."))],
                                render_kw={"lang": "id"})

    def category_data(self) -> dict:
        return {**self.code_data(), "jenis_belanja": self.jenis_belanja.data}


class CriterionForm(BaseForm):
    """One scoring criterion."""

    name = StringField(_l("Criterion"), validators=[
        InputRequired(_l("Enter the criterion name.")),
        Length(min=2, max=120, message=_l("The name must be 2 to 120 characters."))])
    source = SelectField(_l("Values come from"), choices=select_choices(CriterionSource.choices()))
    direction = SelectField(_l("Direction"), choices=select_choices(DIRECTION_CHOICES))
    weight = DecimalTextField(_l("Weight"), validators=[InputRequired(_l("Enter a weight."))],
                              description=_l("Any non-negative number; weights are scaled to add up to 100 %."))
    scale_min = SmallIntegerField(_l("Rating scale from"), default=1, validators=[
        Optional(), NumberRange(min=0, max=100, message=_l("Enter 0 to 100."))])
    scale_max = SmallIntegerField(_l("to"), default=5, validators=[
        Optional(), NumberRange(min=1, max=100, message=_l("Enter 1 to 100."))])

    def validate_scale_max(self, field):
        if self.scale_min.data is not None and field.data is not None and field.data <= self.scale_min.data:
            raise ValidationError(_("The top of the scale must be above its bottom."))

    def criterion_data(self) -> dict:
        return {"name": self.name.data, "source": CriterionSource(self.source.data),
                "direction": int(self.direction.data), "weight": self.weight.data,
                "scale_min": self.scale_min.data if self.scale_min.data is not None else 1,
                "scale_max": self.scale_max.data if self.scale_max.data is not None else 5}


def make_weights_form(themed_session):
    """A form with a weight and a direction field per criterion of `themed_session`."""

    class WeightsForm(BaseForm):
        def criterion_fields(self):
            """(criterion, weight field, direction field) in the session's order."""
            return [(criterion, self[f"weight_{criterion.id}"], self[f"direction_{criterion.id}"])
                    for criterion in themed_session.criteria]

        def values(self):
            weights = {c.id: self[f"weight_{c.id}"].data for c in themed_session.criteria}
            directions = {c.id: int(self[f"direction_{c.id}"].data) for c in themed_session.criteria}
            return weights, directions

        def validate(self, extra_validators=None):
            valid = super().validate(extra_validators)
            if valid and sum(self.values()[0].values()) <= 0:
                self.form_errors.append(_("At least one criterion needs a weight above zero."))
                return False
            return valid

    for criterion in themed_session.criteria:
        setattr(WeightsForm, f"weight_{criterion.id}", DecimalTextField(
            criterion.name, validators=[InputRequired(_l("Enter a weight."))], default=criterion.weight))
        setattr(WeightsForm, f"direction_{criterion.id}", SelectField(
            _("Direction of %(name)s", name=criterion.name), choices=select_choices(DIRECTION_CHOICES),
            default=str(criterion.direction)))
    return WeightsForm


class MemberForm(BaseForm):
    """Add a planner or facilitator to the session's team."""

    user_id = SelectField(_l("Staff member"), coerce=int, validate_choice=True, choices=[])
