"""The city's kecamatan and kelurahan from the Kemendagri code list (idn-area-data, ODbL).

`CITY_CODE` (such as "33.72", Kota Surakarta) names the city; its districts and villages are read
once per process from the gzipped CSVs shipped under participation/data/ and kept in memory
(a few hundred rows; the whole country is ~84,000 villages, read only while loading). Without
`CITY_CODE` the app keeps free-text places and `current_city()` is None.

Names are matched forgivingly: case, spaces, punctuation and the prefixes people write ("Kel.",
"Kelurahan", "Desa", "Kec.", "Kecamatan") do not matter, so "KEL. KAMPUNG BARU" finds the
list's "Kampungbaru".
"""
from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from flask import current_app

DATA_VERSION = "4.0.1"
DATA_DIR = Path(__file__).parent / "data" / f"idn-area-data-{DATA_VERSION}"
CITY_CODE_PATTERN = re.compile(r"\d{2}\.\d{2}")
KELURAHAN_CODE_PATTERN = re.compile(r"\d{2}\.\d{2}\.\d{2}\.\d{4}")

_PREFIX = re.compile(r"^(?:kelurahan|kel|desa|ds|kecamatan|kec|distrik)\b\.?\s*", re.IGNORECASE)


def match_key(name: str | None) -> str:
    """The form of a place name that matching compares: no prefix, case, accents, spaces or punctuation."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = _PREFIX.sub("", text.strip())
    return re.sub(r"[^0-9a-z]", "", text.lower())


@dataclass(frozen=True)
class Kelurahan:
    code: str
    name: str
    kecamatan: "Kecamatan" = field(repr=False, compare=False)


@dataclass(frozen=True)
class Kecamatan:
    code: str
    name: str
    kelurahan: tuple[Kelurahan, ...] = field(default=(), repr=False, compare=False)

    def find(self, name: str | None) -> Kelurahan | None:
        """The kelurahan of this kecamatan called `name` (forgiving), or None."""
        return _best(self.kelurahan, name)


@dataclass(frozen=True)
class City:
    code: str
    name: str
    kecamatan: tuple[Kecamatan, ...]

    @property
    def all_kelurahan(self) -> list[Kelurahan]:
        return [kelurahan for kecamatan in self.kecamatan for kelurahan in kecamatan.kelurahan]

    def find_kecamatan(self, name: str | None) -> Kecamatan | None:
        """The kecamatan called `name` (forgiving), or None."""
        return _best(self.kecamatan, name)

    def kelurahan_named(self, name: str | None) -> list[Kelurahan]:
        """Every kelurahan of the city called `name`, whatever its kecamatan."""
        key = match_key(name)
        return [kelurahan for kelurahan in self.all_kelurahan if key and match_key(kelurahan.name) == key]

    def by_code(self, code: str | None) -> Kelurahan | None:
        """The kelurahan with this Kemendagri code, or None."""
        return self._codes.get(code or "")

    @property
    def _codes(self) -> dict[str, Kelurahan]:
        return _codes(self)


@lru_cache(maxsize=8)
def _codes(city: City) -> dict[str, Kelurahan]:
    return {kelurahan.code: kelurahan for kelurahan in city.all_kelurahan}


def _best(items, name):
    """The item whose name matches `name`: by its key, an exact (case-blind) spelling breaking a tie."""
    key = match_key(name)
    if not key:
        return None
    found = [item for item in items if match_key(item.name) == key]
    if len(found) > 1:
        exact = [item for item in found if item.name.casefold() == re.sub(r"\s+", " ", name.strip()).casefold()]
        found = exact if len(exact) == 1 else []
    return found[0] if found else None


def _rows(name: str):
    with gzip.open(DATA_DIR / f"{name}.csv.gz", "rt", encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(io.StringIO(handle.read()))


class UnknownCity(ValueError):
    """CITY_CODE names no regency or city of the list."""


@lru_cache(maxsize=8)
def load_city(code: str) -> City:
    """The city (kota or kabupaten) with this code and its kecamatan and kelurahan, in code order."""
    if not isinstance(code, str) or not CITY_CODE_PATTERN.fullmatch(code):
        raise UnknownCity(f"CITY_CODE must be a Kemendagri regency code such as 33.72 (Kota Surakarta), not {code!r}")
    city_name = next((row["name"] for row in _rows("regencies") if row["code"] == code), None)
    if city_name is None:
        raise UnknownCity(f"CITY_CODE {code} is not a regency or city in idn-area-data {DATA_VERSION}")
    districts = sorted((row["code"], row["name"]) for row in _rows("districts") if row["regency_code"] == code)
    prefix = code + "."
    villages: dict[str, list[tuple[str, str]]] = {}
    for row in _rows("villages"):
        if row["code"].startswith(prefix):
            villages.setdefault(row["district_code"], []).append((row["code"], row["name"]))
    kecamatan = []
    for district_code, district_name in districts:
        district = Kecamatan(district_code, district_name)
        members = tuple(Kelurahan(v_code, v_name, district) for v_code, v_name in sorted(villages.get(district_code, [])))
        object.__setattr__(district, "kelurahan", members)
        kecamatan.append(district)
    return City(code, city_name, tuple(kecamatan))


def current_city() -> City | None:
    """The configured city, or None when CITY_CODE is unset (free-text places)."""
    code = current_app.config.get("CITY_CODE")
    return load_city(code) if code else None
