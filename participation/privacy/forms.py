"""The confirmation form of an account's erasure."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField
from wtforms.validators import InputRequired, Length

from participation.auth.passwords import MAX_LENGTH
from participation.forms import BaseForm


class DeleteAccountForm(BaseForm):
    """The current password again, and an explicit "I understand"."""

    password = PasswordField(
        _l("Your password"),
        validators=[InputRequired(_l("Enter your password to confirm.")),
                    Length(max=MAX_LENGTH, message=_l("The password is too long."))],
        render_kw={"autocomplete": "current-password"},
    )
    understood = BooleanField(
        _l("I understand that my account is deleted for good and cannot be restored."),
        validators=[InputRequired(_l("Confirm that you understand what deleting the account does."))],
    )
