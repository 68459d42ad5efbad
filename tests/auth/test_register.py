"""Business owners register themselves, with a validated business profile."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from participation.models import AuditEvent, Business, Role, Scale, User
from tests.conftest import app_db, post_form

VALID = {
    "name": "Siti Aminah",
    "email": "siti.aminah@contoh.id",
    "password": "Keripik-Tempe-Renyah-77",
    "password_confirm": "Keripik-Tempe-Renyah-77",
    "business_name": "UD Keripik Tempe Bu Siti",
    "nib": "1234567890123",
    "kbli_codes": "10794, 10392",
    "legal_form": "ud",
    "scale": "mikro",
    "capital": "",
    "annual_turnover": "",
    "workforce_men": "2",
    "workforce_women": "5",
    "address": "Jl. Kenanga No. 12",
    "kelurahan": "Sukamaju",
    "kecamatan": "Sukamaju",
    "phone": "0812-3456-7890",
    "cert_halal": "y",
    "agree": "y",
}


def register(client, **changes):
    data = {**VALID, **changes}
    data = {key: value for key, value in data.items() if value is not None}
    return post_form(client, "/daftar", data)


def counts(app):
    with app_db(app) as session:
        return (session.scalar(select(func.count(User.id))),
                session.scalar(select(func.count(Business.id))))


def test_registration_creates_owner_and_business_and_signs_in(app, client):
    response = register(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/akun")
    page = client.get("/akun").get_data(as_text=True)
    assert "UD Keripik Tempe Bu Siti" in page
    with app_db(app) as session:
        user = session.scalar(select(User))
        business = user.business
        assert user.role is Role.PROPONENT and user.email == "siti.aminah@contoh.id"
        assert business.nib == "1234567890123"
        assert business.kbli_list == ["10392", "10794"]
        assert business.phone == "+6281234567890"
        assert business.scale is Scale.MIKRO
        assert business.name_key == "keripik tempe bu siti"
        assert business.cert_halal and not business.cert_pirt
        assert session.scalar(select(AuditEvent.action)) == "user.register"


@pytest.mark.parametrize("phone,stored", [
    ("081234567890", "+6281234567890"),
    ("+62 812 3456 7890", "+6281234567890"),
    ("62 812-3456-7890", "+6281234567890"),
    ("0812.3456.789", "+628123456789"),
])
def test_phone_numbers_are_normalised(app, client, phone, stored):
    assert register(client, phone=phone).status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(Business.phone)) == stored


@pytest.mark.parametrize("phone", ["(0274) 512-345", "021-555-1234", "0274512345", "+1 202 555 0100"])
def test_phones_not_starting_with_08_or_62_are_refused(app, client, phone):
    """The rule is 08… or +62…: a landline area code is not turned into +62."""
    response = register(client, phone=phone)
    assert response.status_code == 400
    assert "Isi nomor telepon yang diawali 08 atau +62" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("typed,normalised", [
    ("0812-3456-7890", "+6281234567890"),
    ("6281234567890", "+6281234567890"),
    ("+62 (812) 3456 7890", "+6281234567890"),
    ("(0274) 512-345", "0274512345"),
    ("021 555 1234", "0215551234"),
    ("", ""),
    (None, None),
])
def test_normalize_phone_converts_only_08_and_62(typed, normalised):
    from participation.validation import normalize_phone

    assert normalize_phone(typed) == normalised


@pytest.mark.parametrize("field,value,message", [
    ("nib", "12345", "NIB harus tepat 13 digit angka."),
    ("nib", "12345678901234", "NIB harus tepat 13 digit angka."),
    ("nib", "12345678901ab", "NIB harus tepat 13 digit angka."),
    ("kbli_codes", "1079", "Setiap kode KBLI harus tepat 5 digit; periksa “1079”."),
    ("kbli_codes", "10794, abcde", "Setiap kode KBLI harus tepat 5 digit; periksa “abcde”."),
    ("kbli_codes", "", "Isi setidaknya satu kode KBLI."),
    ("scale", "raksasa", "Pilihan tidak valid."),
    ("phone", "021-555-1234x", "Isi nomor telepon yang diawali 08 atau +62"),
    ("phone", "+1 202 555 0100", "Isi nomor telepon yang diawali 08 atau +62"),
    ("phone", "12345", "Isi nomor telepon yang diawali 08 atau +62"),
    ("kelurahan", "", "Isi kelurahan."),
    ("kecamatan", "123", "Gunakan huruf untuk nama kecamatan."),
    ("email", "bukan-email", "Isi alamat email yang benar"),
    ("password_confirm", "Berbeda-Sama-Sekali-1", "Kedua kata sandi tidak sama."),
    ("password", "pendek", "Kata sandi minimal 8 karakter."),
    ("agree", None, "Anda harus menyetujui sebelum mendaftar."),
    ("capital", "satu juta", "Isi bilangan bulat, misalnya 50.000.000."),
    ("workforce_men", "-3", "Isi bilangan bulat"),
])
def test_invalid_fields_re_render_with_an_indonesian_message_and_save_nothing(app, client, field, value, message):
    response = register(client, **{field: value})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in body
    assert 'value="UD Keripik Tempe Bu Siti"' in body  # typed data kept
    assert f'href="#{field}"' in body  # the error summary links to the field
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("password,problem", [
    ("password123", "terlalu umum"),
    ("bismillah123", "terlalu umum"),
    ("Musrenbang2027!", "“musrenbang”"),
    ("bappeda-kota-2027", "“bappeda”"),
    ("HarapanJaya#2027", "“harapan”"),
    ("aaaaaaaaaaaa", "terlalu sedikit"),
    ("x" * 129, "paling banyak 128 karakter"),
])
def test_password_policy_rejects_common_and_context_passwords(app, client, password, problem):
    response = register(client, password=password, password_confirm=password)
    assert response.status_code == 400
    assert problem in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("email,name,word", [
    ("dapur.rahayu@contoh.id", VALID["name"], "rahayu"),  # the email's local part, not the name
    ("lain@contoh.id", "Ratna Rahayu", "rahayu"),  # the name, not the email
])
def test_password_may_not_contain_the_users_own_words(app, client, email, name, word):
    password = "Gethuk-Rahayu-Lindri-77"
    from participation.auth.passwords import password_problems

    with app.test_request_context():  # nothing else about this password is wrong
        assert password_problems(password, role=Role.PROPONENT, email="lain@contoh.id", name=VALID["name"]) == []
    response = register(client, email=email, name=name, password=password, password_confirm=password)
    assert response.status_code == 400
    assert f"Kata sandi tidak boleh memuat “{word}”" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_owner_passwords_need_8_characters_staff_12(app):
    from participation.auth.passwords import password_problems

    with app.test_request_context():
        assert password_problems("Ulos-Tapi7", role=Role.PROPONENT, email="a@contoh.id") == []
        assert password_problems("Ulos-Tapi7", role=Role.PLANNER, email="a@contoh.id") == [
            "Kata sandi minimal 12 karakter."
        ]
        assert password_problems("Ulos-Tapi7-Gorga", role=Role.PLANNER, email="a@contoh.id") == []


def test_email_is_unique_case_insensitively(app, client, make_user):
    make_user(email="siti.aminah@contoh.id")
    response = register(client, email="SITI.Aminah@Contoh.ID")
    assert response.status_code == 400
    assert TAKEN in response.get_data(as_text=True)
    assert counts(app) == (1, 1)


TAKEN = "Akun tidak dapat dibuat dengan alamat email ini."


def test_a_used_address_gets_the_same_answer_whoever_holds_it(app, client, make_user):
    """Staff, owner or deactivated: one refusal, which neither says "registered" nor names a role."""
    import re

    holders = {"owner": make_user(email="pemilik@contoh.id"),
               "planner": make_user("planner", email="perencana@contoh.id"),
               "admin": make_user("admin", email="admin@contoh.id"),
               "inactive": make_user("facilitator", email="nonaktif@contoh.id", active=False)}
    before = counts(app)
    pages = {}
    for holder, address in (("owner", "pemilik@contoh.id"), ("planner", "PERENCANA@contoh.id"),
                            ("admin", "admin@contoh.id"), ("inactive", "nonaktif@contoh.id")):
        response = register(client, email=address)
        assert response.status_code == 400, holder
        page = response.get_data(as_text=True)
        assert TAKEN in page and "terdaftar" not in page.split("<main", 1)[1].lower(), holder
        main = page.split("<main", 1)[1].lower().replace(address.lower(), "")
        for word in ("perencana", "admin", "administrator", "staf", "fasilitator", "nonaktif"):
            assert not re.search(rf"\b{word}\b", main), (holder, word)
        # What differs between the pages is only what was typed and the CSRF token.
        pages[holder] = re.sub(r'value="[^"]*"', "", re.sub(re.escape(address), "EMAIL", page, flags=re.I))
    assert len(set(pages.values())) == 1, holders
    assert counts(app) == before


def test_scale_is_derived_from_capital(app, client):
    response = register(client, scale="", capital="Rp 3.500.000.000")
    assert response.status_code == 303
    with app_db(app) as session:
        business = session.scalar(select(Business))
        assert business.capital == 3_500_000_000
        assert business.scale is Scale.KECIL


def test_scale_contradicting_capital_is_explained(app, client):
    response = register(client, scale="mikro", capital="3.500.000.000")
    assert response.status_code == 400
    assert "termasuk skala Kecil" in response.get_data(as_text=True)


def test_capital_above_medium_is_refused(app, client):
    response = register(client, scale="", capital="25.000.000.000")
    assert response.status_code == 400
    assert "melebihi batas usaha menengah" in response.get_data(as_text=True)


def test_scale_is_required_without_capital_or_sales(app, client):
    response = register(client, scale="")
    assert response.status_code == 400
    assert "Pilih skala usaha" in response.get_data(as_text=True)


def test_signed_in_users_are_sent_away_from_register_and_login(app, client, login_as, make_user):
    login_as(make_user())
    assert client.get("/daftar").status_code == 302
    assert client.get("/masuk").status_code == 302


def test_owner_edits_the_business_profile(app, client, login_as, make_user):
    user_id = make_user()
    login_as(user_id)
    page = client.get("/akun/usaha").get_data(as_text=True)
    assert 'value="Usaha 1"' in page
    data = {key: value for key, value in VALID.items()
            if key not in {"name", "email", "password", "password_confirm", "agree"}}
    data["business_name"] = "CV Batik Sekar Jagad"
    assert post_form(client, "/akun/usaha", data).status_code == 303
    with app_db(app) as session:
        business = session.scalar(select(Business).where(Business.user_id == user_id))
        assert business.name == "CV Batik Sekar Jagad"
        assert business.name_key == "batik sekar jagad"
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "business.updated"))
        assert event.before["business_name"] == "Usaha 1"
        assert event.after["business_name"] == "CV Batik Sekar Jagad"


def test_a_refused_value_is_shown_as_typed(app, client):
    body = register(client, phone="0813").get_data(as_text=True)
    assert 'value="0813"' in body and 'value="+62813"' not in body
