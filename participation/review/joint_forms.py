"""The planner's form that merges near-duplicate proposals into one joint proposal."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from participation.forms import BaseForm, WholeNumberField, select_choices
from participation.i18n import rupiah
from participation.proposals.forms import MAX_BENEFICIARIES, MAX_COST, MAX_JOBS, optional_int


class MergeForm(BaseForm):
    """Which proposals of the cluster go in, and the joint proposal's content, prefilled from the lead."""

    display_order = ("members", "title", "description", "category_id", "estimated_cost", "beneficiaries",
                     "jobs_created")

    members = SelectMultipleField(_l("Proposals to merge"), widget=ListWidget(prefix_label=False),
                                  option_widget=CheckboxInput(),
                                  description=_l("At least two. The joint proposal belongs to the business of the "
                                                 "first one ticked; every business ticked is a co-proposer."))
    title = StringField(_l("Title of the joint proposal"), validators=[
        InputRequired(_l("Enter a title.")),
        Length(min=5, max=200, message=_l("The title must be 5 to 200 characters."))])
    description = TextAreaField(_l("Description of the activity"), validators=[
        InputRequired(_l("Enter a description.")),
        Length(max=10000, message=_l("The description may be at most 10,000 characters."))],
        render_kw={"rows": 6})
    category_id = SelectField(_l("Type of support"), coerce=optional_int, validate_choice=True,
                              validators=[InputRequired(_l("Choose the type of support."))])
    estimated_cost = WholeNumberField(
        _l("Estimated cost (Rupiah)"), minimum=1, maximum=MAX_COST, example=15_000_000, rupiah=True,
        too_small=_l("The estimated cost must be above zero."),
        too_large=_l("The estimated cost may be at most %(maximum)s."),
        validators=[InputRequired(_l("Enter the estimated cost."))],
        description=_l("Prefilled from the first proposal; the joint activity may cost more or less than it."))
    beneficiaries = WholeNumberField(_l("Beneficiaries (people)"), maximum=MAX_BENEFICIARIES, example=25,
                                     validators=[InputRequired(_l("Enter the number of beneficiaries."))],
                                     description=_l("Prefilled with the proposals' beneficiaries added up."))
    jobs_created = WholeNumberField(_l("New jobs"), maximum=MAX_JOBS, example=3,
                                    validators=[InputRequired(_l("Enter the number of new jobs."))],
                                    description=_l("Prefilled with the proposals' new jobs added up."))

    def __init__(self, *args, themed_session, originals, **kwargs):
        super().__init__(*args, **kwargs)
        self.category_id.choices = select_choices(
            [(str(category.id), category.name) for category in themed_session.categories], _("— choose —"))
        self.members.choices = [(str(p.id), f"{p.receipt_number or '–'} · {p.title} · {p.business.name} · "
                                 f"{rupiah(p.estimated_cost)}") for p in originals]

    def validate_members(self, field):
        if len(set(field.data or [])) < 2:
            raise ValidationError(_("Tick at least two proposals to merge."))

    def content(self) -> dict:
        """The joint proposal's fields as the service takes them."""
        return {name: self[name].data for name in ("title", "description", "category_id", "estimated_cost",
                                                    "beneficiaries", "jobs_created")}
