"""Form plumbing shared by every blueprint: safe text, translated messages, Rupiah input."""
from __future__ import annotations

import re

from flask import g
from flask_babel import format_decimal, gettext, lazy_gettext as _l, ngettext
from flask_wtf import FlaskForm
from wtforms import Field, IntegerField, SelectChoice, StringField, TextAreaField
from wtforms.validators import NumberRange, StopValidation, ValidationError
from wtforms.widgets import TextInput

from participation.validation import clean_text

# Set on `g` when CSRFProtect refused the request and the view is re-rendering its form.
CSRF_FAILED = "csrf_failed"

# WTForms' own messages, listed so that the extractor puts them in our catalogue.
WTFORMS_MESSAGES = (
    _l("This field is required."),
    _l("Not a valid choice."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid float value."),
    _l("Not a valid date value."),
    _l("Not a valid datetime value."),
    _l("Not a valid time value."),
    _l("Invalid Choice: could not coerce."),
)


class _BabelTranslations:
    """Route WTForms' built-in messages through our catalogue."""

    def gettext(self, string):
        return gettext(string)

    def ngettext(self, singular, plural, n):
        return ngettext(singular, plural, n)


def _clean_single(value):
    return clean_text(value)


def _clean_multi(value):
    return clean_text(value, multiline=True)


class BaseForm(FlaskForm):
    """Every form: translated messages, and text fields cleaned before validation."""

    class Meta:
        def get_translations(self, form):
            return _BabelTranslations()

        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            if issubclass(field_class, TextAreaField):
                extra = (_clean_multi,)
            elif issubclass(field_class, StringField):
                extra = (_clean_single,)
            else:
                extra = ()
            if extra:
                filters = tuple(unbound_field.kwargs.get("filters", ())) + tuple(options.pop("filters", ()))
                unbound_field.kwargs["filters"] = extra + filters
            return unbound_field.bind(form=form, **options)

    # Field names in the order the page shows them, when that differs from declaration order
    # (a subclass's fields come after its parent's); the error summary follows it.
    display_order: tuple[str, ...] = ()

    def fields_in_display_order(self):
        """The fields, in the order the page presents them."""
        rank = {name: index for index, name in enumerate(self.display_order)}
        return sorted(self, key=lambda field: rank.get(field.name, len(rank)))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if g.get(CSRF_FAILED):
            # The request's token was refused before the view ran; the view is only being
            # called to re-render the form, so it must never be treated as valid.
            if hasattr(self, "csrf_token") and not self.csrf_token.errors:
                self.csrf_token.errors.append("The CSRF token is invalid.")
            return False
        return valid


class Check:
    """A WTForms validator around one of `participation.validation`'s checks (message or None)."""

    def __init__(self, check, **options):
        self.check, self.options = check, options

    def __call__(self, form, field):
        message = self.check(field.data, **self.options)
        if message:
            raise ValidationError(message)


class RequiredToSubmit:
    """Marks a field a draft may leave empty but a submission may not (checked by the service)."""

    field_flags = {"required_to_submit": True}

    def __call__(self, form, field):
        return None


def parse_id(raw) -> int | None:
    """A database id from request text, or None (never an int too large for the column)."""
    if isinstance(raw, str) and raw.isdigit() and len(raw) <= 9:
        return int(raw)
    return None


def select_choices(pairs, placeholder=None) -> list[SelectChoice]:
    """WTForms select options from (value, label) pairs, with an optional empty first option."""
    options = [SelectChoice("", placeholder)] if placeholder is not None else []
    return options + [SelectChoice(value, label) for value, label in pairs]


class SmallIntegerField(IntegerField):
    """An integer that fits a database INTEGER; longer input is an error, not an overflow.

    Text that is no number gets one message: the field's range message when it has a
    `NumberRange` (it says what to type), never that and WTForms' own one together.
    """

    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str) and len(valuelist[0].strip()) > 10:
            self.data = None
            raise ValueError(gettext("The number is too large."))
        super().process_formdata(valuelist)

    def pre_validate(self, form):
        typed = bool(self.raw_data and isinstance(self.raw_data[0], str) and self.raw_data[0].strip())
        if self.process_errors and typed:  # empty input is left to Optional / InputRequired
            ranges = [v for v in self.validators if isinstance(v, NumberRange) and v.message]
            if ranges:
                self.errors = [str(ranges[0].message)]
            raise StopValidation()


class WholeNumberField(Field):
    """A whole number typed with or without thousands separators: 1.500.000, 1,500,000, 1 500 000.

    The field owns its range (`minimum`..`maximum`) so that a bad number gets exactly one
    message: "not a number" (with an `example` that fits the range), or `too_small` /
    `too_large` (by default "Enter a whole number from … to …"), never a second one from a
    validator after it.
    """

    widget = TextInput()

    def __init__(self, label=None, validators=None, maximum: int = 10**15, *, minimum: int = 0,
                 example: int | None = None, too_small=None, too_large=None, rupiah: bool = False, **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault("inputmode", "numeric")
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum, self.example = minimum, maximum, example
        self.too_small, self.too_large, self.rupiah = too_small, too_large, rupiah

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)

    def _format(self, value: int) -> str:
        from participation.i18n import rupiah

        return rupiah(value) if self.rupiah else format_decimal(value)

    def _range_message(self) -> str:
        return gettext("Enter a whole number from %(minimum)s to %(maximum)s.",
                       minimum=self._format(self.minimum), maximum=self._format(self.maximum))

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = clean_text(valuelist[0]) if isinstance(valuelist[0], str) else valuelist[0]
        if raw in (None, ""):
            self.data = None
            return
        text = re.sub(r"^rp\.?\s*", "", str(raw).strip(), flags=re.IGNORECASE)
        text = re.sub(r",00$|\.00$", "", text)
        negative = text.startswith("-")
        digits = text[1:].strip() if negative else text
        if not re.fullmatch(r"\d{1,3}([.,\s]\d{3})+|\d+", digits):
            self.data = None
            if self.example is None:
                raise ValueError(gettext("Enter a whole number."))
            raise ValueError(gettext("Enter a whole number, for example %(example)s.",
                                     example=format_decimal(self.example)))
        value = int(re.sub(r"\D", "", digits)) * (-1 if negative else 1)
        if value < self.minimum or value > self.maximum:
            self.data = None
            message = self.too_small if value < self.minimum else self.too_large
            if not message:
                raise ValueError(self._range_message())
            message = str(message)
            if "%(" in message:
                message = message % {"minimum": self._format(self.minimum), "maximum": self._format(self.maximum)}
            raise ValueError(message)
        self.data = value

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # one message for a bad number: the one just given

VOLUME_PATTERN = re.compile(r"(?P<whole>\d{1,3}(?:\.\d{3})+|\d+)(?:,(?P<comma>\d{1,2}))?|(?P<plain>\d+)\.(?P<point>\d{1,2})")


def parse_volume(raw, maximum: float = 10**9) -> float | None:
    """A quantity as VolumeField reads it (empty is None); ValueError with the one message otherwise."""
    if raw is None or str(raw).strip() == "":
        return None
    match = VOLUME_PATTERN.fullmatch(str(raw).replace(" ", ""))
    value = None
    if match and match["plain"] is not None:
        value = float(f"{match['plain']}.{match['point']}")
    elif match:
        value = float(match["whole"].replace(".", "") + "." + (match["comma"] or "0"))
    if value is None or not 0 < value <= maximum:
        raise ValueError(gettext("Enter a quantity above zero with at most two decimals, for example 20 or 1,5."))
    return value


class VolumeField(Field):
    """A positive quantity with at most two decimals, written the Indonesian way or plainly:
    20, 1,5, 2.500 (two thousand five hundred) or 2.500,75; a point before one or two digits is a
    decimal point (1.5). Empty is None; one message for anything else."""

    widget = TextInput()
    PATTERN = VOLUME_PATTERN

    def __init__(self, label=None, validators=None, maximum: float = 10**9, **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault("inputmode", "decimal")
        super().__init__(label, validators, **kwargs)
        self.maximum = maximum

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else format_decimal(self.data, format="#,##0.##")

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = clean_text(valuelist[0]) if isinstance(valuelist[0], str) else valuelist[0]
        self.data = None
        self.data = parse_volume(raw, self.maximum)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


def kelurahan_choices(city, placeholder) -> list[SelectChoice]:
    """The city's kelurahan as select options grouped by kecamatan (optgroup), valued by their code."""
    options = [SelectChoice("", placeholder)]
    for kecamatan in city.kecamatan:
        group = gettext("Kecamatan %(name)s", name=kecamatan.name)
        options += [SelectChoice(kelurahan.code, kelurahan.name, optgroup=group) for kelurahan in kecamatan.kelurahan]
    return options


class CheckKelurahanCode:
    """The select's value must be a kelurahan of the configured city (a forged one is refused by name)."""

    def __call__(self, form, field):
        from participation.validation import PlaceProblem, place_by_code

        if field.data:
            try:
                place_by_code(form.city, field.data)
            except PlaceProblem as problem:
                raise ValidationError(problem.message) from None


class PlaceFields:
    """Free-text `kelurahan` and `kecamatan`, or, with CITY_CODE, one `kelurahan_code` select.

    A form declares the three fields; `setup_places()` (in its __init__) keeps the pair or the
    select. One select of kelurahan grouped by kecamatan works on a phone without script, and a
    kelurahan cannot be paired with another kecamatan.
    """

    city = None

    def setup_places(self) -> None:
        from participation.places import current_city

        self.city = current_city()
        if self.city is None:
            del self.kelurahan_code
            return
        del self.kelurahan
        del self.kecamatan
        self.kelurahan_code.choices = kelurahan_choices(self.city, gettext("— choose —"))
        if self.kelurahan_code.data is not None and not isinstance(self.kelurahan_code.data, str):
            self.kelurahan_code.data = None

    def prefill_place(self, kelurahan: str | None, kecamatan: str | None, code: str | None) -> None:
        """Show a stored place: its code, or for a free-text one the kelurahan it matches, if any."""
        from participation.validation import PlaceProblem, official_place

        if self.city is None:
            self.kelurahan.data, self.kecamatan.data = kelurahan, kecamatan
            return
        if not code and kelurahan:
            try:
                code = official_place(self.city, kelurahan, kecamatan).kelurahan_code
            except PlaceProblem:
                code = None
        self.kelurahan_code.data = code if self.city.by_code(code) else None

    def place_data(self) -> dict:
        """kelurahan, kecamatan and kelurahan_code for the service ("" and None when not given)."""
        from participation.validation import place_by_code

        if self.city is None:
            return {"kelurahan": self.kelurahan.data or "", "kecamatan": self.kecamatan.data or "",
                    "kelurahan_code": None}
        code = self.kelurahan_code.data.strip() if isinstance(self.kelurahan_code.data, str) else None
        if not code:  # a draft may leave it empty (Optional treats blanks as empty too)
            return {"kelurahan": "", "kecamatan": "", "kelurahan_code": None}
        return place_by_code(self.city, code).as_data()
