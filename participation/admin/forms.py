"""Forms for the administrator's pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from participation.auth.forms import NewPasswordMixin, _email_field
from participation.forms import BaseForm, Check, select_choices
from participation.models import Role
from participation.validation import check_phone, normalize_phone

STAFF_ROLES = [Role.PLANNER, Role.FACILITATOR, Role.ADMIN]


class StaffUserForm(NewPasswordMixin, BaseForm):
    """A staff account: planner, facilitator or administrator."""

    name = StringField(
        _l("Full name"),
        validators=[InputRequired(_l("Enter the name.")),
                    Length(min=2, max=120, message=_l("The name must be 2 to 120 characters."))],
    )
    email = _email_field(_l("Email"))
    phone = StringField(
        _l("Phone (optional)"),
        filters=[normalize_phone],
        validators=[Optional(), Check(check_phone)],
        description=_l("Starts with 08 or +62. Compared with business owners' numbers to suggest conflicts "
                       "of interest."),
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
    )
    role = SelectField(_l("Role"), choices=select_choices((role.value, role.label) for role in STAFF_ROLES),
                       validators=[InputRequired(_l("Choose a role."))])
    password = PasswordField(_l("Initial password"),
                             validators=[InputRequired(_l("Enter a password."))],
                             description=_l("At least 12 characters. Give it to the person in "
                                            "private; they can change it under Account."),
                             render_kw={"autocomplete": "new-password"})
    password_confirm = PasswordField(_l("Repeat the password"),
                                     validators=[InputRequired(_l("Repeat the password."))],
                                     render_kw={"autocomplete": "new-password"})

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if valid:
            self.policy_role = Role(self.role.data)
            valid = self.check_new_password(self.email.data, self.name.data)
        return valid
