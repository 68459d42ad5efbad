"""The follow-up update form, the responsible-office form and the import upload."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField

from participation.forms import BaseForm, WholeNumberField, parse_id, select_choices
from participation.models import FollowUpStatus

MAX_AMOUNT = 10**13


class Needed:
    """Marks a field the update needs (its label shows no "optional"); the service says what is wrong with it."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        return None


class FollowUpUpdateForm(BaseForm):
    """One dated update. The form only reads the values; the service (the same for the import) checks them."""

    display_order = ("dated", "status", "progress", "realised", "note", "cancel_reason", "photo")

    dated = StringField(_l("Date of the update"), [Needed()], render_kw={"type": "date"},
                        description=_l("The day the state below was reached; not a future day."))
    status = SelectField(_l("Status"), [Needed()], choices=select_choices(FollowUpStatus.choices()), validate_choice=False)
    progress = StringField(_l("Physical progress (%)"), [Needed()], render_kw={"inputmode": "numeric"},
                           description=_l("A whole number from 0 to 100."))
    realised = WholeNumberField(_l("Realised budget (Rp)"), [Needed()], maximum=MAX_AMOUNT, rupiah=True, example=12_500_000,
                                description=_l("The total spent so far; above the allocation only with a note."))
    note = TextAreaField(_l("Note on the update"), render_kw={"rows": 3})
    cancel_reason = TextAreaField(_l("Reason for cancellation"), render_kw={"rows": 2},
                                  description=_l("Required when the status is Cancelled."))
    photo = FileField(_l("Photo"), render_kw={"accept": "image/jpeg,image/png"},
                      description=_l("JPEG or PNG, at most 5 MB."))

    def values(self) -> dict:
        """The typed values for the service; what cannot be read is None, and the service says why."""
        text = (self.progress.data or "").strip()
        known = {status.value: status for status in FollowUpStatus}
        return {"dated": _date(self.dated.data), "status": known.get(self.status.data or ""),
                "progress": int(text) if text.isdigit() and len(text) <= 4 else None,
                "realised": self.realised.data, "note": self.note.data or "",
                "cancel_reason": self.cancel_reason.data or "", "photo": self.photo.data}


def _date(text) -> date | None:
    try:
        return date.fromisoformat((text or "").strip()[:10]) if len((text or "").strip()) == 10 else None
    except ValueError:
        return None


class FollowUpDetailsForm(BaseForm):
    """Who delivers it: the responsible OPD and, set by an admin, the officer in charge."""

    display_order = ("opd_name", "opd_code", "responsible_user_id")

    opd_name = StringField(_l("Responsible office (OPD)"))
    opd_code = StringField(_l("OPD code"))
    responsible_user_id = SelectField(_l("Officer in charge"), validate_choice=False)

    def set_users(self, users) -> None:
        self.responsible_user_id.choices = select_choices(
            [(str(user.id), f"{user.name} ({user.role.label})") for user in users], _l("Nobody assigned"))

    def responsible_id(self) -> int | None:
        return parse_id(self.responsible_user_id.data)
