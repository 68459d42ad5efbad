"""Forms for signing in, registering a business and managing one's account."""
from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import BooleanField, DateField, EmailField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from participation.auth.passwords import MAX_LENGTH, password_problems
from participation.forms import BaseForm, Check, CheckKelurahanCode, PlaceFields, WholeNumberField, select_choices
from participation.models import LegalForm, Role, Scale, User, derive_scale
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

def _email_field(label):
    return EmailField(
        label,
        filters=[lambda v: User.normalize_email(v) if isinstance(v, str) else v],
        validators=[
            InputRequired(_l("Enter your email address.")),
            Length(max=254, message=_l("The email address is too long.")),
            Email(message=_l("Enter a valid email address, for example nama@contoh.id."),
                  check_deliverability=False),
        ],
        render_kw={"autocomplete": "email"},
    )


class LoginForm(BaseForm):
    """Email and password; nothing else (the field names are a contract)."""

    email = EmailField(
        _l("Email"),
        filters=[lambda v: User.normalize_email(v) if isinstance(v, str) else v],
        validators=[InputRequired(_l("Enter your email address.")),
                    Length(max=254, message=_l("The email address is too long."))],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(_l("Enter your password.")),
                    Length(max=MAX_LENGTH, message=_l("The password is too long."))],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class BusinessProfileForm(PlaceFields, BaseForm):
    """The business profile of DESIGN §3, with Indonesian rules for each identifier."""

    business_name = StringField(
        _l("Business name"),
        validators=[InputRequired(_l("Enter the business name.")),
                    Length(min=2, max=200, message=_l("The business name must be 2 to 200 characters."))],
        render_kw={"autocomplete": "organization"},
    )
    nib = StringField(
        _l("NIB (Nomor Induk Berusaha)"),
        filters=[normalize_nib],
        validators=[InputRequired(_l("Enter the NIB.")), Check(check_nib)],
        description=_l("13 digits, as printed on the OSS certificate."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    kbli_codes = StringField(
        _l("KBLI codes"),
        validators=[InputRequired(_l("Enter at least one KBLI code."))],
        description=_l("5 digits each; separate several codes with commas, e.g. 10792, 13134."),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    legal_form = SelectField(
        _l("Legal form"),
        # No Optional() on selects: it would wave through whitespace that is not a choice.
        choices=select_choices(LegalForm.choices(), _l("— not specified —")), default="",
    )
    scale = SelectField(
        _l("Business scale"),
        choices=select_choices(Scale.choices(), _l("— choose —")), default="",
        description=_l("Filled in from capital or turnover when you give them (PP 7/2021)."),
    )
    capital = WholeNumberField(
        _l("Business capital (Rupiah, excluding land and buildings)"), example=50_000_000, rupiah=True,
        validators=[Optional()],
    )
    annual_turnover = WholeNumberField(_l("Annual sales (Rupiah)"), example=300_000_000, rupiah=True,
                                       validators=[Optional()])
    workforce_men = WholeNumberField(_l("Male workers"), maximum=100_000, example=5, validators=[Optional()])
    workforce_women = WholeNumberField(_l("Female workers"), maximum=100_000, example=5, validators=[Optional()])
    address = StringField(
        _l("Address"),
        validators=[Optional(), Length(max=300, message=_l("The address may be at most 300 characters."))],
        render_kw={"autocomplete": "street-address"},
    )
    kelurahan = StringField(
        _l("Kelurahan"),
        filters=[normalize_place],
        validators=[InputRequired(_l("Enter the kelurahan.")),
                    Length(min=2, max=100, message=_l("The kelurahan must be 2 to 100 characters.")),
                    Check(check_place, kind="kelurahan")],
    )
    kecamatan = StringField(
        _l("Kecamatan"),
        filters=[normalize_place],
        validators=[InputRequired(_l("Enter the kecamatan.")),
                    Length(min=2, max=100, message=_l("The kecamatan must be 2 to 100 characters.")),
                    Check(check_place, kind="kecamatan")],
    )
    # With CITY_CODE: replaces the two fields above (PlaceFields.setup_places).
    kelurahan_code = SelectField(
        _l("Kelurahan"), validate_choice=False,
        validators=[InputRequired(_l("Choose the kelurahan.")), CheckKelurahanCode()],
        description=_l("Listed by kecamatan, as in the Kemendagri list."),
    )
    phone = StringField(
        _l("Phone / WhatsApp"),
        filters=[normalize_phone],
        validators=[InputRequired(_l("Enter a phone number.")), Check(check_phone)],
        description=_l("Starts with 08 or +62."),
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
    )
    cert_halal = BooleanField(_l("Halal certificate"))
    cert_pirt = BooleanField(_l("PIRT (home industry food permit)"))
    cert_sni = BooleanField(_l("SNI certificate"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_places()

    def validate_kbli_codes(self, field):
        if message := check_kbli(parse_kbli(field.data)):
            raise ValidationError(message)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        capital, turnover = self.capital.data, self.annual_turnover.data
        if capital is not None or turnover is not None:
            derived = derive_scale(capital, turnover)
            if derived is None:
                field = self.capital if capital is not None else self.annual_turnover
                field.errors.append(
                    _("This amount is above the limit for medium businesses (PP 7/2021); "
                      "the platform serves micro, small and medium businesses.")
                )
                return False
            if self.scale.data and self.scale.data != derived.value:
                self.scale.errors.append(
                    _("By the capital or sales you entered this is a %(scale)s business; "
                      "choose that scale or correct the amount.", scale=derived.label)
                )
                return False
            self.scale.data = derived.value
        elif not self.scale.data and not self.scale.errors:
            self.scale.errors.append(_("Choose the business scale, or enter capital or sales."))
            return False
        return valid

    def profile_data(self) -> dict:
        """The cleaned values, ready for the service."""
        return {
            "name": self.business_name.data,
            "nib": self.nib.data,
            "kbli": parse_kbli(self.kbli_codes.data),
            "legal_form": LegalForm(self.legal_form.data) if self.legal_form.data else None,
            "scale": Scale(self.scale.data),
            "capital": self.capital.data,
            "annual_turnover": self.annual_turnover.data,
            "workforce_men": self.workforce_men.data or 0,
            "workforce_women": self.workforce_women.data or 0,
            "address": self.address.data or "",
            **self.place_data(),
            "phone": self.phone.data,
            "cert_halal": self.cert_halal.data,
            "cert_pirt": self.cert_pirt.data,
            "cert_sni": self.cert_sni.data,
        }


class NewPasswordMixin:
    """Two password fields checked against the policy for `policy_role`."""

    policy_role = Role.PROPONENT

    def check_new_password(self, email: str, name: str | None) -> bool:
        password, confirm = self.password.data or "", self.password_confirm.data or ""
        problems = password_problems(password, role=self.policy_role, email=email or "", name=name)
        if problems:
            self.password.errors.extend(problems)
            return False
        if password != confirm:
            self.password_confirm.errors.append(_("The two passwords do not match."))
            return False
        return True


def _password_fields(label):
    return (
        PasswordField(label, validators=[InputRequired(_l("Enter a password."))],
                      render_kw={"autocomplete": "new-password"}),
        PasswordField(_l("Repeat the password"),
                      validators=[InputRequired(_l("Repeat the password."))],
                      render_kw={"autocomplete": "new-password"}),
    )


class RegisterForm(NewPasswordMixin, BusinessProfileForm):
    """A business owner creates an account together with the business profile."""

    display_order = ("name", "email", "password", "password_confirm", "business_name", "nib", "kbli_codes",
                     "legal_form", "scale", "capital", "annual_turnover", "workforce_men", "workforce_women",
                     "address", "kelurahan", "kecamatan", "phone", "cert_halal", "cert_pirt", "cert_sni", "agree")

    name = StringField(
        _l("Your full name"),
        validators=[InputRequired(_l("Enter your name.")),
                    Length(min=2, max=120, message=_l("The name must be 2 to 120 characters."))],
        render_kw={"autocomplete": "name"},
    )
    email = _email_field(_l("Email"))
    password, password_confirm = _password_fields(_l("Password"))
    agree = BooleanField(
        _l("I agree that my data is processed for this planning session (UU 27/2022 on "
           "Personal Data Protection)."),
        validators=[InputRequired(_l("You must agree before registering."))],
    )
    # A honeypot: hidden from people (and screen readers), filled in by robots that fill everything.
    website = StringField(_l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"})

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.password.data and not self.password.errors:
            valid = self.check_new_password(self.email.data, self.name.data) and valid
        return valid


class ChangePasswordForm(NewPasswordMixin, BaseForm):
    """The current password, then the new one twice."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(_l("Enter your current password.")),
                    Length(max=MAX_LENGTH, message=_l("The password is too long."))],
        render_kw={"autocomplete": "current-password"},
    )
    password, password_confirm = _password_fields(_l("New password"))


class KeepSeparateForm(BaseForm):
    """Staff keep a door registration apart from the account's business, saying why."""

    note = TextAreaField(_l("Why they are two businesses"), validators=[
        DataRequired(_l("Say why the two are different businesses (for example what the NIB certificate shows).")),
        Length(min=5, max=500, message=_l("The reason must be 5 to 500 characters."))], render_kw={"rows": 2})


class ApiTokenForm(BaseForm):
    """A new personal access token: a name to tell it apart, what it may do, and its last day."""

    name = StringField(
        _l("Token name"),
        description=_l("Something that tells you what uses it, for example \"Spreadsheet import\"."),
        validators=[InputRequired(_l("Give the token a name, such as the script that will use it.")),
                    Length(max=80, message=_l("The name is too long (at most %(num)d characters).", num=80))],
        render_kw={"autocomplete": "off"},
    )
    scope_read = BooleanField(_l("Read: your proposals, or the proposals of the sessions you work on"),
                              default=True)
    scope_write = BooleanField(_l("Write: create proposals"))
    expires_on = DateField(
        _l("Works until"),
        description=_l("The last day the token works; at most one year from today."),
        validators=[InputRequired(_l("Enter the date the token stops working."))],
    )

    @property
    def scopes(self) -> list[str]:
        return [scope for scope, field in (("read", self.scope_read), ("write", self.scope_write)) if field.data]
