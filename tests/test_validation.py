"""One set of rules for NIB, KBLI, phone, places and text, whichever door the value comes through."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from participation.events import Actor
from participation.models import ThemedSession, User
from tests.conftest import app_db
from tests.factories import make_session

TOO_MANY_KBLI = ", ".join(f"{10000 + n}" for n in range(21))
MESSAGES = {
    "nib": "NIB harus tepat 13 digit angka.",
    "kbli_count": "Isi paling banyak 20 kode KBLI.",
    "kbli_digits": "Setiap kode KBLI harus tepat 5 digit; periksa “1234”.",
    "phone": "Isi nomor telepon yang diawali 08 atau +62, misalnya 0812-3456-7890.",
}
# (rule, field value) -> the message every door gives
CASES = [("nib", "12345"), ("kbli_count", TOO_MANY_KBLI), ("kbli_digits", "10794, 1234"),
         ("phone", "0274-123456")]
FIELD = {"nib": "nib", "kbli_count": "kbli_codes", "kbli_digits": "kbli_codes", "phone": "phone"}
COLUMN = {"nib": "nib", "kbli_count": "kbli", "kbli_digits": "kbli", "phone": "telepon"}

VALID_BUSINESS = {"business_name": "Keripik Maju", "nib": "3201010123456", "kbli_codes": "10794",
                  "scale": "mikro", "kelurahan": "Sukamaju", "kecamatan": "Sukamaju", "phone": "081234567890",
                  "owner_name": "Sri Lestari", "paper_form_number": "F1-0001", "title": "Pelatihan kemasan",
                  "legal_form": ""}


def _form_errors(app, form_class, field: str, value: str, **kwargs) -> list[str]:
    with app.test_request_context():
        form = form_class(MultiDict(VALID_BUSINESS | {field: value}), meta={"csrf": False}, **kwargs)
        form.validate()
        return [str(message) for message in form[field].errors]


def _import_errors(app, column: str, value: str) -> list[str]:
    from participation.intake.imports import import_businesses

    row = {"nib": "3201010123456", "nama_usaha": "Keripik Maju", "nama_pemilik": "Sri Lestari",
           "kbli": "10794", "skala": "mikro", "kelurahan": "Sukamaju", "kecamatan": "Sukamaju",
           "telepon": "081234567890"} | {column: value}
    header = ",".join(row)
    line = ",".join(f'"{cell}"' for cell in row.values())
    with app.test_request_context():
        result = import_businesses("usaha.csv", f"{header}\n{line}\n".encode(), Actor.cli())
        return [error.message for error in result.errors if error.column == column]


@pytest.mark.parametrize("rule,value", CASES, ids=[case[0] for case in CASES])
def test_every_door_gives_the_same_answer(app, make_user, rule, value):
    from participation.auth.forms import BusinessProfileForm
    from participation.documents.forms import WalkInForm
    from participation.proposals.forms import PaperProposalForm

    with app_db(app) as session:
        themed_session = make_session(session.get(User, make_user("planner")))
        session.commit()
        sid = themed_session.id
    expected = [MESSAGES[rule]]
    assert _form_errors(app, BusinessProfileForm, FIELD[rule], value) == expected
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, sid)
        with app.test_request_context():
            form = PaperProposalForm(MultiDict(VALID_BUSINESS | {FIELD[rule]: value}), meta={"csrf": False},
                                     themed_session=themed_session)
            form.validate()
            assert [str(m) for m in form[FIELD[rule]].errors] == expected
    if FIELD[rule] in ("nib", "phone"):  # the walk-in form at the door asks only these
        assert _form_errors(app, WalkInForm, FIELD[rule], value) == expected
    assert _import_errors(app, COLUMN[rule], value) == expected


def test_places_are_checked_alike_on_forms_and_in_imports(app):
    from participation.auth.forms import BusinessProfileForm

    assert _form_errors(app, BusinessProfileForm, "kelurahan", "123 Jalan") == ["Gunakan huruf untuk nama kelurahan."]
    assert _import_errors(app, "kelurahan", "123 Jalan") == ["Gunakan huruf untuk nama tempat."]
    assert _import_errors(app, "kecamatan", "SUKA  MAJU") == []  # normalised, then accepted


@pytest.mark.parametrize("typed,stored,accepted", [("0812-3456-7890", "+6281234567890", True),
                                                   ("62 812 3456 7890", "+6281234567890", True),
                                                   ("(0274) 123456", "0274123456", False)])
def test_phone_normalisation(app, typed, stored, accepted):
    from participation.validation import check_phone, normalize_phone

    assert normalize_phone(typed) == stored
    with app.test_request_context():
        assert (check_phone(stored) is None) is accepted


def test_checks_return_nothing_for_good_values(app):
    from participation import validation

    with app.test_request_context():
        assert validation.check_nib("3201010123456") is None
        assert validation.check_kbli(["10794", "13134"]) is None
        assert validation.check_kbli([], required=False) is None
        assert validation.check_kbli([]) == "Isi setidaknya satu kode KBLI."
        assert validation.check_phone("+6281234567890") is None and validation.check_phone(None) is None
        assert validation.check_place("Kampung Baru (Utara)") is None
        with pytest.raises(ValueError):
            validation.clean_text("nama\x00usaha")
        assert validation.clean_text("  Kerupuk Cafe\u0301  ") == "Kerupuk Caf\u00e9"  # NFC, trimmed
