"""Forms for the agenda builder, document settings, check-in of walk-ins and the letterhead."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from participation.forms import BaseForm, Check, SmallIntegerField, select_choices
from participation.models import AgendaKind, LetterNature
from participation.proposals.forms import PaperProposalForm
from participation.validation import check_nip, normalize_nip


def _title_field(label=_l("Item"), default=None):
    return StringField(label, default=default, validators=[
        InputRequired(_l("Enter the item.")), Length(max=200, message=_l("At most 200 characters."))])


def _minutes_field(label=_l("Minutes"), default=None):
    return SmallIntegerField(label, default=default, validators=[
        InputRequired(_l("Enter the minutes.")), NumberRange(min=0, max=600, message=_l("Enter 0 to 600."))])


class AgendaItemForm(BaseForm):
    """A new agenda item."""

    title = _title_field(_l("New item"))
    duration_minutes = _minutes_field()
    description = StringField(_l("Note"), validators=[Optional(), Length(max=1000, message=_l("At most 1,000 characters."))])


def make_agenda_form(items):
    """Title, minutes and note for every agenda item (a presentation block's length is computed)."""

    class AgendaForm(BaseForm):
        def item_fields(self):
            return [(item, self[f"title_{item.id}"], self.get(f"minutes_{item.id}"), self[f"note_{item.id}"])
                    for item in items]

        def get(self, name):
            return self._fields.get(name)

        def values(self) -> dict[int, dict]:
            changes = {}
            for item in items:
                data = {"title": self[f"title_{item.id}"].data, "description": self[f"note_{item.id}"].data or ""}
                if f"minutes_{item.id}" in self._fields:
                    data["duration_minutes"] = self[f"minutes_{item.id}"].data
                changes[item.id] = data
            return changes

    for item in items:  # each field starts from the item's stored value
        setattr(AgendaForm, f"title_{item.id}", _title_field(_l("Item %(n)d", n=item.position + 1), item.title))
        setattr(AgendaForm, f"note_{item.id}", StringField(
            _l("Note for item %(n)d", n=item.position + 1), default=item.description,
            validators=[Optional(), Length(max=1000, message=_l("At most 1,000 characters."))]))
        if item.kind is not AgendaKind.PRESENTATION:
            setattr(AgendaForm, f"minutes_{item.id}", _minutes_field(
                _l("Minutes for item %(n)d", n=item.position + 1), item.duration_minutes))
    return AgendaForm


class DocumentSettingsForm(BaseForm):
    """What the documents need beyond the session's details."""

    minutes_per_proposal = SmallIntegerField(_l("Minutes per presented proposal"), validators=[
        InputRequired(_l("Enter the minutes.")), NumberRange(min=1, max=60, message=_l("Enter 1 to 60."))])
    invitation_notes = TextAreaField(_l("What invitees should bring"), validators=[
        Optional(), Length(max=1000, message=_l("At most 1,000 characters."))], render_kw={"rows": 3})
    chair_name = StringField(_l("Chair of the meeting (pimpinan sidang)"), validators=[
        Optional(), Length(max=120, message=_l("At most 120 characters."))])
    secretary_name = StringField(_l("Minute-taker (notulis)"), validators=[
        Optional(), Length(max=120, message=_l("At most 120 characters."))])
    participant_representative = StringField(_l("Participants' representative"), validators=[
        Optional(), Length(max=120, message=_l("At most 120 characters."))])
    # The invitation as an official letter (tata naskah dinas).
    letter_number = StringField(_l("Letter number (nomor)"), description=_l("For example 005/123/Bappeda/2027."),
                                validators=[Optional(), Length(max=100, message=_l("At most 100 characters."))])
    letter_nature = SelectField(_l("Nature (sifat)"), choices=select_choices(LetterNature.choices()), validators=[
        InputRequired(_l("Choose the letter's nature."))])
    letter_attachments = SmallIntegerField(
        _l("Enclosures (lampiran)"), description=_l("How many enclosures go with the letter; empty or 0 prints “-”."),
        validators=[Optional(), NumberRange(min=0, max=99, message=_l("Enter 0 to 99."))])
    letter_subject = StringField(_l("Subject (perihal)"), validators=[
        Optional(), Length(max=200, message=_l("At most 200 characters."))])
    letter_date = DateField(_l("Letter date"), description=_l("The date the letter is signed, printed above the "
                                                              "addressee; not the day it is printed."),
                            validators=[Optional()])
    signatory_name = StringField(_l("Signatory's name"), description=_l("With titles, as it is signed."), validators=[
        Optional(), Length(max=120, message=_l("At most 120 characters."))])
    signatory_title = StringField(_l("Signatory's position (jabatan)"),
                                  description=_l("For example Kepala Badan Perencanaan Pembangunan Daerah."),
                                  validators=[Optional(), Length(max=200, message=_l("At most 200 characters."))])
    signatory_nip = StringField(_l("Signatory's NIP"), filters=[normalize_nip],
                                description=_l("18 digits; spaces between the groups are fine."),
                                validators=[Optional(), Check(check_nip)], render_kw={"inputmode": "numeric"})


class WalkInForm(BaseForm):
    """A business that came without an invitation (the paper intake's business fields)."""

    nib = PaperProposalForm.nib
    business_name = PaperProposalForm.business_name
    owner_name = PaperProposalForm.owner_name
    phone = PaperProposalForm.phone
    owner_match = PaperProposalForm.owner_match
    owner_business_id = PaperProposalForm.owner_business_id
    validate_owner_match = PaperProposalForm.validate_owner_match
    owner_choice = PaperProposalForm.owner_choice

    def business_data(self) -> dict:
        # Unknown at the door (scale None, no places): a new business starts as mikro, and the
        # paper form that follows fills in what it says.
        return {"nib": self.nib.data, "name": self.business_name.data, "owner_name": self.owner_name.data,
                "phone": self.phone.data or None, "kbli": [], "scale": None, "kelurahan": "", "kecamatan": "",
                **self.owner_choice()}


class LetterheadForm(BaseForm):
    """The kop surat on every document."""

    institution_name = StringField(_l("Institution"), validators=[
        InputRequired(_l("Enter the institution's name.")), Length(max=200, message=_l("At most 200 characters."))])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300, message=_l("At most 300 characters."))])
    contact = StringField(_l("Telephone, e-mail or website"), validators=[
        Optional(), Length(max=200, message=_l("At most 200 characters."))])
    logo = FileField(_l("Logo (PNG or JPEG, at most 1 MB)"))
    remove_logo = BooleanField(_l("Remove the current logo"))

