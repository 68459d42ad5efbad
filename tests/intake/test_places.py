"""Places from the Kemendagri list (CITY_CODE 33.72, Kota Surakarta): forms, imports, matching old rows."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from participation.models import AuditEvent, Business, Proposal
from tests.auth.test_register import VALID
from tests.conftest import app_db, post_form
from tests.factories import make_business
from tests.hostile import HOSTILE, is_server_error
from tests.intake.test_imports import PROPOSAL_HEADER, csv_bytes, proposal_row, upload

PAJANG, JEBRES = "33.72.01.1001", "33.72.04.1010"  # Kel. Pajang (Kec. Laweyan), Kel. Jebres (Kec. Jebres)
NOT_IN_JEBRES = ("Kelurahan “Pajang” tidak ada di Kecamatan Jebres, Kota Surakarta menurut daftar Kemendagri. "
                 "Kelurahan itu ada di Kecamatan Laweyan.")
BUSINESS_HEADER = "nib,nama_usaha,nama_pemilik,kbli,skala,kelurahan,kecamatan"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "CITY_CODE": "33.72"}


def registration(**changes):
    data = {key: value for key, value in VALID.items() if key not in ("kelurahan", "kecamatan")}
    return {**data, "kelurahan_code": PAJANG, **changes}


def stored_places(app):
    with app_db(app) as session:
        return session.execute(select(Business.kelurahan, Business.kecamatan, Business.kelurahan_code)
                               .order_by(Business.id)).all()


# --- the list itself -------------------------------------------------------------------------

def test_the_city_has_its_five_kecamatan_and_54_kelurahan(app):
    from participation.places import current_city

    with app.app_context():
        city = current_city()
        assert city.name == "Kota Surakarta" and app.config["CITY_NAME"] == "Kota Surakarta"
        assert [k.name for k in city.kecamatan] == ["Laweyan", "Serengan", "Pasar Kliwon", "Jebres", "Banjarsari"]
        assert len(city.all_kelurahan) == 54


@pytest.mark.parametrize("kelurahan,kecamatan,code", [
    ("Pajang", "Laweyan", PAJANG),
    ("KEL. PAJANG", "Kec. Laweyan", PAJANG),
    ("  kelurahan   pajang ", "kecamatan LAWEYAN", PAJANG),
    ("Kampung Baru", "Pasar Kliwon", "33.72.03.1006"),  # the list writes "Kampungbaru"
    ("Kel Pasar Kliwon", "Kec.Pasarkliwon", "33.72.03.1003"),
    ("Kepatihan Kulon", "", "33.72.04.1001"),  # one of its name in the city: the kecamatan may be left out
])
def test_names_match_forgiving_of_case_spaces_and_prefixes(app, kelurahan, kecamatan, code):
    from participation.places import current_city
    from participation.validation import official_place

    with app.test_request_context():
        assert official_place(current_city(), kelurahan, kecamatan).kelurahan_code == code


@pytest.mark.parametrize("code", ["33.99", "33.7", "Surakarta", "33.72.01"])
def test_an_unknown_city_code_stops_the_app_at_start_up(code):
    from participation import create_app
    from participation.config import ConfigError

    with pytest.raises(ConfigError, match="CITY_CODE"):
        create_app({"APP_ENV": "test", "CITY_CODE": code})


# --- forms ------------------------------------------------------------------------------------

def test_registration_offers_kelurahan_grouped_by_kecamatan_and_saves_the_code(app, client):
    page = client.get("/daftar").get_data(as_text=True)
    assert '<optgroup label="Kecamatan Laweyan"><option value="33.72.01.1001">Pajang</option>' in page
    assert 'name="kecamatan"' not in page and 'name="kelurahan"' not in page  # one select, no free text
    # A forged kecamatan beside the choice changes nothing: the kelurahan says where it is.
    response = post_form(client, "/daftar", registration(kecamatan="Jebres"), token_from="/daftar")
    assert response.status_code == 303
    assert stored_places(app) == [("Pajang", "Laweyan", PAJANG)]
    account = client.get("/akun").get_data(as_text=True)
    assert "Pajang, Laweyan" in account and "data-place-problem" not in account


@pytest.mark.parametrize("code,message", [
    ("33.72.09.9999", "Pilih kelurahan di Kota Surakarta dari daftar."),
    ("34.71.01.1001", "Pilih kelurahan di Kota Surakarta dari daftar."),  # a kelurahan of Yogyakarta
    ("Pajang", "Pilih kelurahan di Kota Surakarta dari daftar."),
    ("", "Pilih kelurahan."),
])
def test_registration_refuses_a_kelurahan_not_in_the_list(app, client, code, message):
    response = post_form(client, "/daftar", registration(kelurahan_code=code), token_from="/daftar")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and message in body
    assert 'value="UD Keripik Tempe Bu Siti"' in body  # what was typed is kept
    assert stored_places(app) == []


def test_the_business_profile_preselects_a_matching_free_text_place(app, client, make_user, login_as):
    owner = make_user(business={"kelurahan": "kel. jebres", "kecamatan": "JEBRES"})
    login_as(owner)
    page = client.get("/akun").get_data(as_text=True)
    assert "Belum dicocokkan dengan daftar Kemendagri." in page  # the owner is told, with a link
    form = client.get("/akun/usaha").get_data(as_text=True)
    assert f'<option selected value="{JEBRES}">Jebres</option>' in form


def test_paper_intake_saves_the_code_on_business_and_proposal(app, client, make_world, login_as):
    from tests.intake.test_roster_and_paper import PAPER

    world = make_world(facilitator=True)
    login_as(world.facilitator)
    data = {key: value for key, value in PAPER.items() if key not in ("kelurahan", "kecamatan")}
    url = f"/sesi/{world.session}/usulan-kertas"
    refused = post_form(client, url, {**data, "category_id": str(world.categories[0]), "kelurahan_code": "x"})
    assert refused.status_code == 400 and "Pilih kelurahan di Kota Surakarta dari daftar." in refused.get_data(as_text=True)
    response = post_form(client, url, {**data, "category_id": str(world.categories[0]), "kelurahan_code": JEBRES})
    assert response.status_code == 303
    with app_db(app) as session:
        proposal = session.scalar(select(Proposal))
        assert (proposal.kelurahan, proposal.kecamatan, proposal.kelurahan_code) == ("Jebres", "Jebres", JEBRES)
        assert proposal.business.kelurahan_code == JEBRES


def test_an_owners_new_proposal_starts_at_the_business_place(app, client, make_world, login_as):
    world = make_world(owner={"business": {"kelurahan": "Pajang", "kecamatan": "Laweyan", "kelurahan_code": PAJANG}})
    login_as(world.owner)
    page = client.get(f"/usulan/baru/{world.session}").get_data(as_text=True)
    assert f'<option selected value="{PAJANG}">Pajang</option>' in page


# --- imports ----------------------------------------------------------------------------------

@pytest.fixture
def planner(make_user, login_as):
    user_id = make_user("planner")
    login_as(user_id)
    return user_id


@pytest.mark.parametrize("kelurahan,kecamatan,column,message", [
    ("Pajang", "Jebres", "kelurahan", NOT_IN_JEBRES),
    ("Sukamaju", "Laweyan", "kelurahan",
     "Kelurahan “Sukamaju” tidak ada di Kecamatan Laweyan, Kota Surakarta menurut daftar Kemendagri."),
    ("Pajang", "Sukamaju", "kecamatan", "Kecamatan “Sukamaju” tidak ada di Kota Surakarta menurut daftar Kemendagri."),
])
def test_business_import_names_the_unknown_place(app, client, planner, kelurahan, kecamatan, column, message):
    rows = ["3201010000001,UD Keripik Tempe,Siti Aminah,10794,mikro,KEL. PAJANG,kec laweyan",
            f"3201010000002,CV Batik,Sri Handayani,13134,kecil,{kelurahan},{kecamatan}"]
    response = upload(client, "/impor/usaha", csv_bytes(*rows, header=BUSINESS_HEADER), "usaha.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"<td>3</td><td><code>{column}</code></td>" in body and message in body
    assert stored_places(app) == []  # all or nothing
    good = upload(client, "/impor/usaha", csv_bytes(rows[0], header=BUSINESS_HEADER), "usaha.csv")
    assert good.status_code == 303
    assert stored_places(app) == [("Pajang", "Laweyan", PAJANG)]


def test_proposal_import_checks_the_place_against_the_list(app, client, planner, make_world):
    session_id = make_world(planners=[planner], businesses=[{
        "nib": "3201010000001", "name": "UD Keripik Tempe Bu Siti", "kelurahan": "Pajang", "kecamatan": "Laweyan",
        "kelurahan_code": PAJANG}]).session
    header = PROPOSAL_HEADER + ",kelurahan,kecamatan"
    url = f"/sesi/{session_id}/impor-usulan"
    response = upload(client, url, csv_bytes(proposal_row() + ",Pajang,Jebres", header=header), "usulan.csv")
    assert response.status_code == 400 and NOT_IN_JEBRES in response.get_data(as_text=True)
    response = upload(client, url, csv_bytes(proposal_row() + ",,Jebres", header=header), "usulan.csv")
    assert response.status_code == 400 and "Isi juga kelurahannya" in response.get_data(as_text=True)
    rows = [proposal_row() + ",kel. jebres,JEBRES", proposal_row(title="Sertifikasi halal keripik") + ",,"]
    assert upload(client, url, csv_bytes(*rows, header=header), "usulan.csv").status_code == 303
    with app_db(app) as session:
        assert session.execute(select(Proposal.kelurahan, Proposal.kecamatan, Proposal.kelurahan_code)
                               .order_by(Proposal.id)).all() == [("Jebres", "Jebres", JEBRES),
                                                                 ("Pajang", "Laweyan", PAJANG)]


# --- existing free text -----------------------------------------------------------------------

def test_match_places_lists_then_stores_the_matches_and_staff_see_the_rest(app, client, make_world, login_as):
    world = make_world(facilitator=True, invited=True, businesses=[
        {"nib": "3201010000001", "name": "Keripik", "kelurahan": "KAMPUNG BARU", "kecamatan": "Pasar Kliwon"},
        {"nib": "3201010000002", "name": "Batik", "kelurahan": "Pajang", "kecamatan": "Jebres"},
        {"nib": "3201010000003", "name": "Mebel", "kelurahan": "Sukamaju", "kecamatan": "Sukamaju"}])
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["match-places"])
    assert listed.exit_code == 0, listed.output
    assert "matches\tbusiness" in listed.output and "33.72.03.1006" in listed.output
    assert "1 places match the list of Kota Surakarta and would be stored" in listed.output
    assert "2 do not match" in listed.output
    with app_db(app) as session:
        assert session.scalar(select(func.count(Business.id)).where(Business.kelurahan_code.is_not(None))) == 0
    applied = runner.invoke(args=["match-places", "--apply"])
    assert applied.exit_code == 0 and "1 places match the list of Kota Surakarta and stored" in applied.output
    with app_db(app) as session:
        assert session.execute(select(Business.name, Business.kelurahan, Business.kelurahan_code)
                               .where(Business.kelurahan_code.is_not(None))).all() == [
            ("Keripik", "Kampungbaru", "33.72.03.1006")]
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "places.matched"))
        assert event.after["businesses"] == 1 and event.after["unmatched"] == 2
    login_as(world.facilitator)
    roster = client.get(f"/sesi/{world.session}/undangan").get_data(as_text=True)
    assert "Pajang: " + NOT_IN_JEBRES in roster
    assert "Kelurahan “Sukamaju” tidak ada di Kecamatan" not in roster  # Sukamaju: the kecamatan is unknown
    assert "Kecamatan “Sukamaju” tidak ada di Kota Surakarta menurut daftar Kemendagri." in roster


def test_without_city_code_places_stay_free_text(make_user):
    from participation import create_app

    app = create_app({"APP_ENV": "test"})
    with app.test_request_context():
        from participation.auth.forms import BusinessProfileForm

        form = BusinessProfileForm(meta={"csrf": False})
        assert form.city is None and form.kelurahan is not None and form.kelurahan_code is None


# --- hostile corpus on the changed forms ------------------------------------------------------

def test_hostile_values_in_the_kelurahan_select(app, client, make_world, login_as):
    from tests.intake.test_roster_and_paper import PAPER

    for label, payload in HOSTILE.items():
        response = post_form(client, "/daftar", registration(kelurahan_code=payload), token_from="/daftar")
        assert not is_server_error(response) and response.status_code == 400, label
        body = response.get_data(as_text=True)
        assert "<script>alert" not in body and "Pilih kelurahan" in body, label
    assert stored_places(app) == []
    world = make_world(facilitator=True, owner=True)
    login_as(world.owner)
    for label, payload in HOSTILE.items():
        for url in ("/akun/usaha", f"/usulan/baru/{world.session}"):
            data = registration(kelurahan_code=payload) if url == "/akun/usaha" else {
                "title": "Mesin pengemas vakum", "action": "draft", "kelurahan_code": payload}
            response = post_form(client, url, data)
            assert not is_server_error(response), (label, url)
            if payload.strip():
                assert response.status_code == 400, (label, url)
    post_form(client, "/keluar", {}, token_from="/akun")
    login_as(world.facilitator)
    data = {key: value for key, value in PAPER.items() if key not in ("kelurahan", "kecamatan")}
    for label, payload in HOSTILE.items():
        response = post_form(client, f"/sesi/{world.session}/usulan-kertas",
                             {**data, "category_id": str(world.categories[0]), "kelurahan_code": payload})
        assert not is_server_error(response) and response.status_code == 400, label
    with app_db(app) as session:
        # Only a draft with the select left blank (all whitespace) was saved; no paper form went in.
        assert session.scalar(select(func.count(Proposal.id)).where(Proposal.paper_form_number.is_not(None))) == 0
