"""Language choice and the number and date formats, all through Babel."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from babel import Locale
from babel.dates import format_time as babel_format_time

from flask import current_app, has_request_context, session
from flask_babel import format_currency, format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user

SESSION_LOCALE = "locale"
RUPIAH_PATTERN = "¤#,##0"
DATE_TIME_PATTERNS = {"id": "d MMMM y HH.mm", "en": "d MMMM y HH:mm"}


def clear_session_keeping_language() -> None:
    """Empty the session (sign-in, sign-out, account deletion) but keep the chosen language."""
    locale = session.get(SESSION_LOCALE)
    session.clear()
    if locale:
        session[SESSION_LOCALE] = locale


def select_locale() -> str:
    """Indonesian unless the user chose another supported language."""
    supported = current_app.config["LANGUAGES"]
    if not has_request_context():  # the CLI speaks the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get(SESSION_LOCALE)
    if chosen in supported:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in supported:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def rupiah(amount) -> str:
    """Whole Rupiah in the current locale, e.g. Rp2.350.000.000."""
    if amount is None:
        return "–"
    return format_currency(amount, "IDR", format=RUPIAH_PATTERN, currency_digits=False)


def number(value, digits: int | None = None) -> str:
    """A number with the locale's separators, e.g. 1.234,5.

    With a fixed number of decimals the digits are laid out by Python and the group and decimal
    symbols come from Babel's data for the locale, as Babel's "#,##0.00" pattern would place them
    (Python rounds the binary value, so a value like 2.675 shows 2,67): many times faster, which
    matters on a list of a thousand figures.
    """
    if value is None:
        return "–"
    if digits is None:
        return format_decimal(value)
    group, decimal = _separators(str(get_locale()))
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", group)


@lru_cache(maxsize=8)
def _separators(locale: str) -> tuple[str, str]:
    symbols = Locale.parse(locale).number_symbols["latn"]
    return symbols["group"], symbols["decimal"]


def criterion_value(source, value) -> str:
    """A criterion's value as its source reads: Rupiah for a cost, a mean rating with 2 decimals, else a count.

    `source` is a CriterionSource or its code (a snapshot's JSON keeps codes).
    """
    from participation.models import CriterionSource

    source = CriterionSource.of(source)
    if source is CriterionSource.ESTIMATED_COST:
        return rupiah(value)
    if source is CriterionSource.RATING:
        return number(value, 2)
    return number(value, 0)


def long_date(value) -> str:
    """A date such as 12 Februari 2027."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return format_datetime(value, "d MMMM y")
    return format_date(value, "long")


def month_year(value) -> str:
    """A month such as Mar 2027 (from any date in it)."""
    if value is None:
        return "–"
    return format_date(value, "MMM y")


def date_time(value: datetime | None) -> str:
    """A date and time in the app's time zone, such as 12 Februari 2027 09.30."""
    if value is None:
        return "–"
    return format_datetime(value, DATE_TIME_PATTERNS.get(str(get_locale()), "d MMMM y HH:mm"))


def full_date(value: datetime | None) -> str:
    """A date with its weekday, such as Jumat, 12 Februari 2027 (in the app's time zone)."""
    if value is None:
        return "–"
    return format_datetime(value, "EEEE, d MMMM y")


def time_of_day(value: datetime | None) -> str:
    """A time with its zone, such as 09.00 WIB (stored UTC, shown in the app's time zone)."""
    if value is None:
        return "–"
    return format_datetime(value, "HH.mm z" if str(get_locale()) == "id" else "HH:mm z")


def clock(value: datetime | None) -> str:
    """The time of a datetime that is already local (an agenda slot), such as 09.30."""
    if value is None:
        return "–"
    return babel_format_time(value, "HH.mm" if str(get_locale()) == "id" else "HH:mm", locale=get_locale())


def register_formatters(app) -> None:
    """Expose the formatters to templates as filters."""
    app.add_template_filter(rupiah)
    app.add_template_filter(number)
    app.add_template_filter(long_date)
    app.add_template_filter(month_year)
    app.add_template_filter(date_time)
    app.add_template_filter(full_date)
    app.add_template_filter(time_of_day)
    app.add_template_filter(clock)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
