"""The rules for Indonesian identifiers and free text, written once.

Each `normalize_*` turns what people type into the stored form; each `check_*` returns the message
to show (translated) or None when the value is fine. The registration, paper and walk-in forms wrap
them as WTForms validators (`forms.Check`), the import row readers call them per cell, and the API
will call them in its schemas: none of them holds a rule the others lack. With `CITY_CODE` set,
places come from the city's Kemendagri list (`official_place`, `place_by_code`; participation/places.py).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _

NIB_PATTERN = re.compile(r"\d{13}")
KBLI_PATTERN = re.compile(r"\d{5}")
MAX_KBLI_CODES = 20
PLACE_PATTERN = re.compile(r"[^\W\d_][\w .,'/()-]*")
PHONE_PATTERN = re.compile(r"\+62[1-9]\d{7,11}")

# Characters that never belong in submitted text: NUL and the other C0/C1 controls, and the
# bidirectional overrides used to disguise text ("Trojan Source", CVE-2021-42574).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\r\n\t]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Invisible characters (zero-width space, joiners, word joiner, BOM, soft hyphen, Mongolian vowel
# separator, invisible operators): "Usa\u200bha" looks like "Usaha" but is another string, a
# look-alike of a name. They carry nothing in the texts typed here, so they are dropped.
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff]")


def clean_text(value, multiline: bool = False):
    """Normalise submitted text (NFC, invisible characters dropped, trimmed); refuse controls and bidi overrides."""
    if value is None or not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFC", _INVISIBLE.sub("", value))
    if _CONTROL.search(value) or (not multiline and _LINE_BREAKS.search(value)):
        raise ValueError(_("Contains control characters that are not allowed."))
    if _BIDI.search(value):
        raise ValueError(_("Contains text-direction characters that are not allowed."))
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.strip()


def normalize_nib(value: str | None) -> str | None:
    """Drop the spaces, dots and dashes people type inside a NIB."""
    return re.sub(r"[\s.-]", "", value) if value else value


def check_nib(value: str | None) -> str | None:
    """A NIB is exactly 13 digits."""
    if not NIB_PATTERN.fullmatch(value or ""):
        return _("The NIB must be exactly 13 digits.")
    return None


def parse_kbli(value: str | None) -> list[str]:
    """KBLI codes typed with commas, semicolons, slashes or spaces between them."""
    return [code for code in re.split(r"[\s,;/]+", value or "") if code]


def check_kbli(codes: list[str], *, required: bool = True) -> str | None:
    """One or more (when `required`) 5-digit KBLI codes, at most 20 different ones."""
    if not codes:
        return _("Enter at least one KBLI code.") if required else None
    wrong = [code for code in codes if not KBLI_PATTERN.fullmatch(code)]
    if wrong:
        return _("Each KBLI code must be exactly 5 digits; check “%(code)s”.", code=wrong[0][:20])
    if len(set(codes)) > MAX_KBLI_CODES:
        return _("Enter at most 20 KBLI codes.")  # MAX_KBLI_CODES
    return None


def normalize_phone(value: str | None) -> str | None:
    """Phone numbers as +62…; 08… and 62… (spaces, dashes, dots or brackets allowed) become +62….

    Any other start (a landline area code such as 0274, a foreign number) is not converted, so
    `check_phone` refuses it: the rule is 08… or +62….
    """
    if not value:
        return value
    compact = re.sub(r"[\s().-]", "", value)
    if compact.startswith("08"):
        compact = "+62" + compact[1:]
    elif compact.startswith("62"):
        compact = "+" + compact
    return compact


def check_phone(value: str | None) -> str | None:
    """A normalised Indonesian mobile or fixed number (+62, then 8 to 12 digits); empty is the caller's call."""
    if value and not PHONE_PATTERN.fullmatch(value):
        return _("Enter a phone number that starts with 08 or +62, for example 0812-3456-7890.")
    return None


def normalize_place(value: str | None) -> str | None:
    """Collapse spaces; SHOUTED or lower-case place names become title case."""
    if not value:
        return value
    value = re.sub(r"\s+", " ", value).strip()
    if value.isupper() or value.islower():
        value = value.title()
    return value


def check_place(value: str | None, kind: str | None = None) -> str | None:
    """A kelurahan or kecamatan name starts with a letter; `kind` names which in the message."""
    if value and not PLACE_PATTERN.fullmatch(value):
        if kind == "kelurahan":
            return _("Use letters for the kelurahan name.")
        if kind == "kecamatan":
            return _("Use letters for the kecamatan name.")
        return _("Use letters for the place name.")
    return None


NIP_PATTERN = re.compile(r"\d{18}")


def normalize_nip(value: str | None) -> str | None:
    """Drop the spaces, dots and dashes of a NIP written in its groups (19700101 199503 1 001)."""
    return re.sub(r"[\s.-]", "", value) if value else value


def check_nip(value: str | None) -> str | None:
    """A civil servant's NIP is exactly 18 digits; empty is allowed (the letter prints no NIP line)."""
    if value and not NIP_PATTERN.fullmatch(value):
        return _("The NIP must be exactly 18 digits, such as 19700101 199503 1 001.")
    return None


def format_nip(value: str | None) -> str:
    """A NIP as it is printed, in its four groups: birth date, appointment, sex, number."""
    if not value or not NIP_PATTERN.fullmatch(value):
        return value or ""
    return f"{value[:8]} {value[8:14]} {value[14]} {value[15:]}"


# Permendagri 90/2019 codes as SIPD stores them (text, dots kept). A sub-activity (sub kegiatan):
# urusan (1 digit, 1-8) . bidang urusan (2) . program (2) . kegiatan (the level, 1 province or
# 2 regency/city, then 2 digits) . sub kegiatan (4, as Kepmendagri 050-5889/2021 numbers them):
# 7.01.02.2.01.0001. Only digits: the regulation's "X.XX" placeholder for programmes shared by
# every bidang is written in SIPD with the OPD's own urusan and bidang, so it is not accepted here.
SUB_ACTIVITY_PATTERN = re.compile(r"[1-8]\.\d{2}\.\d{2}\.[12]\.\d{2}\.\d{4}")
# An OPD (SKPD) code: up to three urusan.bidang pairs the unit serves (the unused ones 0.00), the
# unit's number (2 digits) and its sub-unit (4 digits, 0000 for the OPD itself):
# 7.01.0.00.0.00.01.0000 (a kecamatan), 1.03.0.00.0.00.01.0000 (public works).
OPD_CODE_PATTERN = re.compile(r"[1-8]\.\d{2}\.\d\.\d{2}\.\d\.\d{2}\.\d{2}\.\d{4}")


def normalize_code(value: str | None) -> str | None:
    """A code as typed, without the spaces around or inside it (its dots are kept)."""
    return re.sub(r"\s", "", value) if value else value


def check_sub_activity_code(value: str | None) -> str | None:
    """A Permendagri 90/2019 sub-activity code such as 7.01.02.2.01.0001; empty is allowed."""
    if value and not SUB_ACTIVITY_PATTERN.fullmatch(value):
        return _("Write the sub-activity code as in Permendagri 90/2019: urusan, bidang, programme, activity "
                 "and sub-activity separated by dots, such as 7.01.02.2.01.0001.")
    return None


def check_opd_code(value: str | None) -> str | None:
    """An OPD (SKPD) code as SIPD writes it, such as 7.01.0.00.0.00.01.0000; empty is allowed."""
    if value and not OPD_CODE_PATTERN.fullmatch(value):
        return _("Write the OPD code as SIPD does: eight groups of digits separated by dots, "
                 "such as 7.01.0.00.0.00.01.0000.")
    return None


class PlaceProblem(ValueError):
    """A place that is not in the city's Kemendagri list; `column` is the one to correct."""

    def __init__(self, message: str, column: str = "kelurahan"):
        super().__init__(message)
        self.message, self.column = message, column


@dataclass(frozen=True)
class Place:
    """A kelurahan and kecamatan as stored: the list's names and the kelurahan's code (None in free text)."""

    kelurahan: str
    kecamatan: str
    kelurahan_code: str | None = None

    def as_data(self) -> dict:
        return {"kelurahan": self.kelurahan, "kecamatan": self.kecamatan, "kelurahan_code": self.kelurahan_code}


def official_place(city, kelurahan: str | None, kecamatan: str | None) -> Place:
    """The kelurahan of `city` named `kelurahan` in the kecamatan named `kecamatan`, or PlaceProblem.

    Names match forgivingly (case, spaces, "Kel."/"Kec." prefixes: `places.match_key`). Without
    a kecamatan the kelurahan is looked up in the whole city, and must be the only one so named.
    """
    kelurahan, kecamatan = (kelurahan or "").strip()[:100], (kecamatan or "").strip()[:100]
    if not kelurahan:
        raise PlaceProblem(_("Enter the kelurahan."))
    if kecamatan:
        district = city.find_kecamatan(kecamatan)
        if district is None:
            raise PlaceProblem(_("Kecamatan “%(name)s” is not in %(city)s according to the Kemendagri list.",
                                 name=kecamatan, city=city.name), "kecamatan")
        found = district.find(kelurahan)
        if found is None:
            message = _("Kelurahan “%(name)s” is not in Kecamatan %(kecamatan)s, %(city)s according to the "
                        "Kemendagri list.", name=kelurahan, kecamatan=district.name, city=city.name)
            elsewhere = city.kelurahan_named(kelurahan)
            if elsewhere:
                message += " " + _("It is in Kecamatan %(kecamatan)s.",
                                   kecamatan=", ".join(k.kecamatan.name for k in elsewhere))
            raise PlaceProblem(message)
    else:
        candidates = city.kelurahan_named(kelurahan)
        if not candidates:
            raise PlaceProblem(_("Kelurahan “%(name)s” is not in %(city)s according to the Kemendagri list.",
                                 name=kelurahan, city=city.name))
        if len(candidates) > 1:
            raise PlaceProblem(_("%(city)s has more than one kelurahan “%(name)s”; give the kecamatan too.",
                                 name=kelurahan, city=city.name), "kecamatan")
        found = candidates[0]
    return Place(found.name, found.kecamatan.name, found.code)


def place_by_code(city, code: str | None) -> Place:
    """The kelurahan of `city` chosen by its code (the form's select), or PlaceProblem."""
    found = city.by_code(code) if isinstance(code, str) else None
    if found is None:
        raise PlaceProblem(_("Choose a kelurahan of %(city)s from the list.", city=city.name))
    return Place(found.name, found.kecamatan.name, found.code)
