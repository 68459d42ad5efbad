"""Forms of account recovery: asking for a reset link, choosing the new password."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from participation.auth.forms import NewPasswordMixin, _email_field, _password_fields
from participation.forms import BaseForm


class ForgotPasswordForm(BaseForm):
    """The address of the account whose password is forgotten."""

    email = _email_field(_l("Email"))


class ResetPasswordForm(NewPasswordMixin, BaseForm):
    """The new password, twice (the policy of the account's role applies)."""

    password, password_confirm = _password_fields(_l("New password"))


class ConfirmForm(BaseForm):
    """A button and its CSRF token (confirming an address)."""
