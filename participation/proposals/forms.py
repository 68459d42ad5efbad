"""The proposal form (online and paper) and the paper intake's business fields."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from participation.forms import (
    BaseForm,
    Check,
    CheckKelurahanCode,
    PlaceFields,
    RequiredToSubmit,
    VolumeField,
    WholeNumberField,
    parse_id,
    select_choices,
)
from participation.models import Scale
from participation.validation import (
    check_kbli,
    check_nib,
    check_phone,
    check_place,
    normalize_nib,
    normalize_phone,
    normalize_place,
    parse_kbli,
)

MAX_COST = 10**13  # Rp10 trillion: far above any city's budget, well inside BIGINT
MAX_BENEFICIARIES = 10_000_000
MAX_JOBS = 1_000_000


def optional_int(value):
    """Select values: '' means no choice; anything else must be a small integer."""
    if value in ("", None):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 9:
        return int(value)
    raise ValueError("not an id")


class ProposalForm(PlaceFields, BaseForm):
    """A proposal's content. Drafts need only a title; submitting needs everything."""

    display_order = ("title", "category_id", "problem", "description", "estimated_cost", "beneficiaries",
                     "jobs_created", "volume", "satuan", "kelurahan", "kecamatan", "attachment", "remove_attachment")

    title = StringField(_l("Title of the proposal"), validators=[
        InputRequired(_l("Enter a title.")),
        Length(min=5, max=200, message=_l("The title must be 5 to 200 characters."))],
        description=_l("What should the city fund? For example: Halal certification for 20 chip makers."))
    problem = TextAreaField(_l("Problem"), validators=[
        RequiredToSubmit(), Optional(),
        Length(max=5000, message=_l("The problem may be at most 5,000 characters."))],
        description=_l("What problem does your business face?"), render_kw={"rows": 4})
    description = TextAreaField(_l("Description of the activity"), validators=[
        RequiredToSubmit(), Optional(),
        Length(max=10000, message=_l("The description may be at most 10,000 characters."))],
        description=_l("What exactly is needed, for whom, and how it helps."), render_kw={"rows": 6})
    category_id = SelectField(_l("Type of support"), coerce=optional_int, validate_choice=True,
                              validators=[RequiredToSubmit()])
    estimated_cost = WholeNumberField(
        _l("Estimated cost (Rupiah)"), minimum=1, maximum=MAX_COST, example=15_000_000, rupiah=True,
        too_small=_l("The estimated cost must be above zero."),
        too_large=_l("The estimated cost may be at most %(maximum)s."),
        validators=[RequiredToSubmit(), Optional()],
        description=_l("Whole Rupiah; separators are fine, e.g. 15.000.000."))
    beneficiaries = WholeNumberField(_l("Beneficiaries (people)"), maximum=MAX_BENEFICIARIES, example=25,
                                     validators=[RequiredToSubmit(), Optional()])
    jobs_created = WholeNumberField(_l("New jobs"), maximum=MAX_JOBS, example=3,
                                    validators=[RequiredToSubmit(), Optional()])
    volume = VolumeField(_l("Quantity"), validators=[Optional()],
                         description=_l("How much the cost buys, for example 20."))
    satuan = StringField(_l("Unit"), validators=[
        Optional(), Length(max=50, message=_l("The unit may be at most 50 characters."))],
        description=_l("For example: packages, people, certificates."))
    kelurahan = StringField(_l("Kelurahan"), filters=[normalize_place], validators=[
        RequiredToSubmit(), Optional(),
        Length(min=2, max=100, message=_l("The kelurahan must be 2 to 100 characters.")),
        Check(check_place, kind="kelurahan")])
    kecamatan = StringField(_l("Kecamatan"), filters=[normalize_place], validators=[
        RequiredToSubmit(), Optional(),
        Length(min=2, max=100, message=_l("The kecamatan must be 2 to 100 characters.")),
        Check(check_place, kind="kecamatan")])
    # With CITY_CODE: replaces the two fields above (PlaceFields.setup_places).
    kelurahan_code = SelectField(_l("Kelurahan"), validate_choice=False, validators=[
        RequiredToSubmit(), Optional(), CheckKelurahanCode()],
        description=_l("Listed by kecamatan, as in the Kemendagri list."))
    attachment = FileField(_l("Attachment"),
                           description=_l("PDF, JPEG or PNG, at most 5 MB: a quotation, a photo, a permit."))
    remove_attachment = BooleanField(_l("Remove the current attachment"))
    idempotency_key = HiddenField()

    def __init__(self, *args, themed_session=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_places()
        categories = themed_session.categories if themed_session is not None else []
        self.category_id.choices = select_choices(
            [(str(category.id), category.name) for category in categories], _("— choose —"))

    def validate_idempotency_key(self, field):
        if field.data and not re.fullmatch(r"[0-9a-f]{32}", field.data):
            raise ValidationError(_("The form is damaged; reload the page."))

    def mark_unfilled(self, *, skip=()) -> None:
        """Mark every field that submitting needs and that is still empty (a refused form only).

        When a form meant to be submitted is refused for another reason, the service never
        sees it; marking these too lists every missing field in one answer. `skip`: fields the
        service fills in itself when left empty (the business's kelurahan and kecamatan).
        """
        for field in self:
            if (field.flags.required_to_submit and field.name not in skip and not field.errors
                    and (field.data is None or (isinstance(field.data, str) and not field.data.strip()))):
                field.errors.append(_("Required before submitting."))

    def proposal_data(self) -> dict:
        """Cleaned values for the service."""
        return {
            "title": self.title.data, "problem": self.problem.data or "",
            "description": self.description.data or "", "category_id": self.category_id.data,
            "estimated_cost": self.estimated_cost.data, "beneficiaries": self.beneficiaries.data,
            "jobs_created": self.jobs_created.data, "volume": self.volume.data, "satuan": self.satuan.data or "",
            **self.place_data(),
        }


class PaperProposalForm(ProposalForm):
    """A facilitator types in a paper form: the business first, then the proposal."""

    display_order = ("paper_form_number", "nib", "business_name", "owner_name", "phone", "scale",
                     "kbli_codes", "owner_match", "title", "category_id", "problem", "description", "estimated_cost",
                     "beneficiaries", "jobs_created", "volume", "satuan", "kelurahan", "kecamatan", "kelurahan_code")

    paper_form_number = StringField(_l("Paper form number"), validators=[
        InputRequired(_l("Enter the number printed on the form.")),
        Length(max=30, message=_l("The form number may be at most 30 characters."))],
        render_kw={"autofocus": True, "autocomplete": "off"})
    nib = StringField(_l("NIB"), filters=[normalize_nib], validators=[InputRequired(_l("Enter the NIB.")),
                                                                      Check(check_nib)],
                      render_kw={"inputmode": "numeric", "autocomplete": "off"})
    business_name = StringField(_l("Business name"), validators=[
        InputRequired(_l("Enter the business name.")),
        Length(min=2, max=200, message=_l("The business name must be 2 to 200 characters."))],
        render_kw={"autocomplete": "off"})
    owner_name = StringField(_l("Owner's name"), validators=[
        InputRequired(_l("Enter the owner's name.")),
        Length(min=2, max=120, message=_l("The name must be 2 to 120 characters."))],
        render_kw={"autocomplete": "off"})
    phone = StringField(_l("Phone / WhatsApp"), filters=[normalize_phone], validators=[Optional(), Check(check_phone)],
                        render_kw={"inputmode": "tel", "autocomplete": "off"})
    kbli_codes = StringField(_l("KBLI codes"), validators=[Optional()],
                             render_kw={"inputmode": "numeric", "autocomplete": "off"})
    scale = SelectField(_l("Business scale"), choices=select_choices(Scale.choices()), default="mikro")
    # Shown only when the NIB and name match nothing but a business with an account: the
    # facilitator either confirms that account (bound to the business shown, by its id) or
    # registers the form's business separately.
    owner_match = RadioField(_l("This NIB and name belong to a business with an account"), choices=select_choices([
        ("attach", _l("I have checked with the person: attach the form to this account's business")),
        ("separate", _l("Register it as a separate business without an account, for staff to review"))]),
        validate_choice=False)
    owner_business_id = HiddenField()

    def validate_owner_match(self, field):
        if field.data not in (None, "", "attach", "separate"):
            raise ValidationError(_("Not a valid choice."))

    def owner_choice(self) -> dict:
        """The facilitator's answer to the account warning, for the matching service."""
        return {"owner_match": self.owner_match.data or None, "owner_business_id": parse_id(self.owner_business_id.data)}

    def validate_kbli_codes(self, field):
        # A paper form may leave the KBLI out; the codes it gives follow the registration's rule.
        if message := check_kbli(parse_kbli(field.data), required=False):
            raise ValidationError(message)

    def business_data(self) -> dict:
        return {"nib": self.nib.data, "name": self.business_name.data, "owner_name": self.owner_name.data,
                "phone": self.phone.data or None, "kbli": parse_kbli(self.kbli_codes.data),
                "scale": Scale(self.scale.data), **self.place_data(), **self.owner_choice()}


def field_labels(names) -> list[str]:
    """The proposal form's labels for these field names (for 'still missing' notes)."""
    return [str(getattr(ProposalForm, name).args[0]) for name in names]
