"""Issue 17, finding 1: a business's identity (NIB and name) cannot be captured by an account.

Paper forms, walk-ins and imports never attach silently to a business that has an account: the
matching prefers a business without one, and the facilitator (or the import's `konfirmasi_akun`
column) confirms an account by name. An owner's change of NIB or name that could take over
another identity waits for staff review.
"""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from participation.models import (
    AuditEvent,
    Business,
    IdentityChange,
    IdentityChangeReason,
    IdentityChangeStatus,
    Invitation,
    Proposal,
    ProposalStatus,
    User,
)
from tests.auth.test_register import VALID as REGISTRATION
from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db, csrf_token, login, post_form
from tests.factories import make_business, make_proposal
from tests.hostile import HOSTILE
from tests.intake.test_roster_and_paper import PAPER

NIB, NAME = "3201010123456", "CV Batik Sekar Jagad"
IMPOSTOR = {"name": "Budi Palsu", "email": "budi.palsu@contoh.id"}
PROFILE = {key: value for key, value in REGISTRATION.items()
           if key not in {"name", "email", "password", "password_confirm", "agree"}}


@pytest.fixture
def world(make_world):
    """An open session with a facilitator; nobody signed in."""
    return make_world(facilitator=True)


def as_facilitator(app, world):
    client = app.test_client()
    with app_db(app) as session:
        email = session.get(User, world.facilitator).email
    assert login(client, email, STAFF_PASSWORD).status_code == 303
    return client


def register_impostor(app) -> int:
    """Someone registers an account with the NIB and name of a business that has none yet."""
    client = app.test_client()
    data = {**REGISTRATION, **IMPOSTOR, "nib": NIB, "business_name": NAME}
    assert post_form(client, "/daftar", data).status_code == 303
    with app_db(app) as session:
        return session.scalar(select(Business.id).join(User).where(User.email == IMPOSTOR["email"]))


def paper(client, world, **changes):
    data = {**PAPER, "nib": NIB, "business_name": NAME, "category_id": str(world.categories[0]), **changes}
    return post_form(client, f"/sesi/{world.session}/usulan-kertas", data)


def walk_in(client, world, **changes):
    data = {"nib": NIB, "business_name": NAME, "owner_name": "Sri Handayani", **changes}
    return post_form(client, f"/sesi/{world.session}/hadir", data)


def counts(session) -> tuple[int, int, int]:
    return (session.scalar(select(func.count(Business.id))), session.scalar(select(func.count(Proposal.id))),
            session.scalar(select(func.count(Invitation.id))))


def events(session, action) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# Paper forms and walk-ins ------------------------------------------------------------------------

def test_an_impostors_account_does_not_receive_the_real_owners_paper_form(app, world):
    impostor_business = register_impostor(app)
    facilitator = as_facilitator(app, world)

    # The real owner arrives; the facilitator registers them at the door.
    response = walk_in(facilitator, world)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Usaha ini sudah punya akun" in page and "Budi Palsu (b***@contoh.id)" in page
    assert "budi.palsu@contoh.id" not in page  # the account is named, its address is not shown
    with app_db(app) as session:
        assert counts(session) == (1, 0, 0)  # nothing attached, nothing created
    response = walk_in(facilitator, world, owner_match="separate", owner_business_id=str(impostor_business))
    assert response.status_code == 303
    with app_db(app) as session:
        real = session.scalar(select(Business).where(Business.nib == NIB, Business.user_id.is_(None)))
        assert real is not None and real.id != impostor_business
        assert events(session, "checkin.walk_in")[-1].after == {
            "business_id": real.id, "business_match": "separate", "kept_apart_from_business_id": impostor_business}
        real_id = real.id

    # Their paper form goes to the business registered at the door, with no question asked.
    assert paper(facilitator, world).status_code == 303
    with app_db(app) as session:
        proposal = session.scalar(select(Proposal))
        assert proposal.business_id == real_id
        assert events(session, "proposal.paper_entered")[-1].after["business_match"] == "matched"
        proposal_id = proposal.id

    # The impostor neither sees nor withdraws it.
    impostor = app.test_client()
    assert login(impostor, IMPOSTOR["email"], REGISTRATION["password"]).status_code == 303
    assert "Pelatihan pewarnaan alami" not in impostor.get("/usulan/").get_data(as_text=True)
    assert impostor.get(f"/usulan/{proposal_id}").status_code == 404
    assert post_form(impostor, f"/usulan/{proposal_id}/tarik", {}, token_from="/usulan/").status_code == 404
    with app_db(app) as session:
        assert session.get(Proposal, proposal_id).status is ProposalStatus.SUBMITTED


def test_a_paper_form_attaches_to_an_account_only_once_the_facilitator_confirms_it(app, world, make_user):
    owner = make_user(name="Sri Handayani", email="sri@contoh.id", business={"nib": NIB, "name": NAME})
    with app_db(app) as session:
        owned = session.scalar(select(Business.id).where(Business.user_id == owner))
    facilitator = as_facilitator(app, world)

    response = paper(facilitator, world)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Sri Handayani (s***@contoh.id)" in page and 'value="Pelatihan pewarnaan alami untuk perajin batik"' in page
    assert f'name="owner_business_id" type="hidden" value="{owned}"' in page
    # A confirmation that names another business, or no choice, attaches nothing.
    assert paper(facilitator, world, owner_match="attach", owner_business_id=str(owned + 100)).status_code == 409
    assert paper(facilitator, world, owner_match="", owner_business_id=str(owned)).status_code == 409
    with app_db(app) as session:
        assert counts(session) == (1, 0, 0)

    assert paper(facilitator, world, owner_match="attach", owner_business_id=str(owned)).status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(Proposal.business_id)) == owned
        after = events(session, "proposal.paper_entered")[-1].after
        assert (after["business_match"], after["confirmed_owner_id"]) == ("confirmed_owner", owner)
    # Confirmed, the owner sees it as theirs.
    client = app.test_client()
    assert login(client, "sri@contoh.id", TEST_PASSWORD).status_code == 303
    assert "Pelatihan pewarnaan alami" in client.get("/usulan/").get_data(as_text=True)


def test_matching_prefers_the_business_without_an_account(app, world, make_user):
    make_user(business={"nib": NIB, "name": NAME})  # the account is older than the door's business
    with app_db(app) as session:
        door = make_business(nib=NIB, name="Batik Sekar Jagad").id
        session.commit()
    facilitator = as_facilitator(app, world)
    assert paper(facilitator, world).status_code == 303
    assert walk_in(facilitator, world).status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(Proposal.business_id)) == door
        assert session.scalar(select(Invitation.business_id)) == door


def test_hostile_answers_to_the_account_question_never_attach(app, world, make_user):
    owner = make_user(business={"nib": NIB, "name": NAME})
    with app_db(app) as session:
        owned = session.scalar(select(Business.id).where(Business.user_id == owner))
    facilitator = as_facilitator(app, world)
    for name, value in HOSTILE.items():
        for response in (paper(facilitator, world, owner_match=value, owner_business_id=str(owned)),
                         paper(facilitator, world, owner_match="attach", owner_business_id=value),
                         walk_in(facilitator, world, owner_match=value, owner_business_id=str(owned)),
                         walk_in(facilitator, world, owner_match="attach", owner_business_id=value)):
            assert 400 <= response.status_code < 500, name
            assert "<script>alert" not in response.get_data(as_text=True)
    with app_db(app) as session:
        assert counts(session) == (1, 0, 0)


# An owner's change of NIB or name ------------------------------------------------------------------

def edit_profile(client, **changes):
    return post_form(client, "/akun/usaha", {**PROFILE, **changes})


def test_an_owner_cannot_take_over_a_door_registered_business_by_editing_the_profile(app, world, make_user,
                                                                                     login_as):
    owner = make_user(name="Budi Palsu", business={"nib": "3201019999999", "name": "Usaha Budi"})
    facilitator = as_facilitator(app, world)
    assert walk_in(facilitator, world).status_code == 303  # the real business, registered at the door
    client = app.test_client()
    with app_db(app) as session:
        email = session.get(User, owner).email
    assert login(client, email, TEST_PASSWORD).status_code == 303

    response = edit_profile(client, nib=NIB, business_name=NAME, phone="0813 0000 1111")
    assert response.status_code == 303
    page = client.get("/akun").get_data(as_text=True)
    assert "menunggu peninjauan petugas" in page and NAME in page
    with app_db(app) as session:
        business = session.scalar(select(Business).where(Business.user_id == owner))
        assert (business.nib, business.name, business.phone) == ("3201019999999", "Usaha Budi", "+6281300001111")
        change = business.pending_identity_change
        assert (change.nib, change.name, change.reason) == (NIB, NAME, IdentityChangeReason.NIB_IN_USE)
        assert events(session, "business.identity_change_requested")[-1].after["requested"] == {
            "nib": NIB, "business_name": NAME}
    # The profile form shows what the owner asked for; saving the old identity withdraws the request.
    assert f'value="{NIB}"' in client.get("/akun/usaha").get_data(as_text=True)
    assert edit_profile(client, nib="3201019999999", business_name="Usaha Budi").status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(IdentityChange.status)) is IdentityChangeStatus.WITHDRAWN

    # The door's business keeps its later paper forms.
    assert paper(facilitator, world).status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(Business.user_id).join(Proposal, Proposal.business_id == Business.id)) is None


def test_a_business_with_proposals_changes_identity_only_after_staff_review(app, world, make_user):
    owner = make_user(email="siti@contoh.id", business={"nib": "3201011111111", "name": "Keripik Bu Siti"})
    make_user("facilitator", email="luar@contoh.id")  # on no session
    with app_db(app) as session:
        from participation.models import ThemedSession

        business = session.scalar(select(Business).where(Business.user_id == owner))
        make_proposal(session.get(ThemedSession, world.session), business)
        business_id = business.id
        session.commit()
    client = app.test_client()
    assert login(client, "siti@contoh.id", TEST_PASSWORD).status_code == 303
    assert edit_profile(client, nib="3201011111111", business_name="Keripik Tempe Bu Siti").status_code == 303
    with app_db(app) as session:
        change = session.scalar(select(IdentityChange))
        assert change.reason is IdentityChangeReason.HAS_PROPOSALS
        assert session.get(Business, business_id).name == "Keripik Bu Siti"
        change_id = change.id

    # Staff of another session neither see nor decide it.
    other = app.test_client()
    assert login(other, "luar@contoh.id", STAFF_PASSWORD).status_code == 303
    assert "Keripik Tempe Bu Siti" not in other.get("/perubahan-usaha").get_data(as_text=True)
    assert post_form(other, f"/perubahan-usaha/{change_id}", {"keputusan": "setujui"},
                     token_from="/perubahan-usaha").status_code == 404
    # The session's facilitator approves it.
    facilitator = as_facilitator(app, world)
    page = facilitator.get("/perubahan-usaha").get_data(as_text=True)
    assert "Keripik Tempe Bu Siti" in page and "Usaha sudah memiliki usulan" in page
    for hostile in ("", "ya", HOSTILE["sql"], HOSTILE["nul_byte"]):
        assert post_form(facilitator, f"/perubahan-usaha/{change_id}", {"keputusan": hostile},
                         token_from="/perubahan-usaha").status_code == 400
    response = post_form(facilitator, f"/perubahan-usaha/{change_id}", {"keputusan": "setujui"},
                         token_from="/perubahan-usaha")
    assert response.status_code == 303
    assert "telah disetujui" in facilitator.get(response.headers["Location"]).get_data(as_text=True)
    with app_db(app) as session:
        business = session.get(Business, business_id)
        assert (business.name, business.name_key) == ("Keripik Tempe Bu Siti", "keripik tempe bu siti")
        change = session.get(IdentityChange, change_id)
        assert change.status is IdentityChangeStatus.APPROVED and change.decided_by_id == world.facilitator
        event = events(session, "business.identity_change_approved")[-1]
        assert event.before["business_name"] == "Keripik Bu Siti" and event.actor_id == world.facilitator
    # Decided once: a second decision changes nothing.
    post_form(facilitator, f"/perubahan-usaha/{change_id}", {"keputusan": "tolak"}, token_from="/perubahan-usaha")
    with app_db(app) as session:
        assert session.get(IdentityChange, change_id).status is IdentityChangeStatus.APPROVED

    # A rejected change leaves the identity as it was.
    assert edit_profile(client, nib="3201012222222", business_name="Keripik Tempe Bu Siti").status_code == 303
    with app_db(app) as session:
        change_id = session.scalar(select(IdentityChange.id).where(IdentityChange.status == IdentityChangeStatus.PENDING))
    assert post_form(facilitator, f"/perubahan-usaha/{change_id}", {"keputusan": "tolak"},
                     token_from="/perubahan-usaha").status_code == 303
    with app_db(app) as session:
        assert session.get(Business, business_id).nib == "3201011111111"
        assert events(session, "business.identity_change_rejected")


def test_a_business_without_proposals_changes_identity_freely_but_not_to_a_nib_with_proposals(app, world, make_user):
    owner = make_user(email="siti@contoh.id", business={"nib": "3201011111111", "name": "Keripik Bu Siti"})
    with app_db(app) as session:
        from participation.models import ThemedSession

        make_proposal(session.get(ThemedSession, world.session), make_business(nib=NIB, name="Batik Tulis Lasem"))
        session.commit()
    client = app.test_client()
    assert login(client, "siti@contoh.id", TEST_PASSWORD).status_code == 303
    assert edit_profile(client, nib="3201012222222", business_name="Keripik Tempe Bu Siti").status_code == 303
    with app_db(app) as session:
        business = session.scalar(select(Business).where(Business.user_id == owner))
        assert (business.nib, business.name) == ("3201012222222", "Keripik Tempe Bu Siti")
        assert session.scalar(select(func.count(IdentityChange.id))) == 0
    # The NIB of a business with proposals, even under another name, waits for review.
    assert edit_profile(client, nib=NIB, business_name="Keripik Tempe Bu Siti").status_code == 303
    with app_db(app) as session:
        business = session.scalar(select(Business).where(Business.user_id == owner))
        assert business.nib == "3201012222222"
        assert business.pending_identity_change.reason is IdentityChangeReason.NIB_IN_USE


# Imports -------------------------------------------------------------------------------------------

PROPOSAL_HEADER = ("nib,nama_usaha,judul,masalah,deskripsi,kategori,perkiraan_biaya,penerima_manfaat,"
                   "tenaga_kerja_baru,konfirmasi_akun")


def upload(client, url, text: str, filename="berkas.csv"):
    data = text.encode("utf-8-sig")
    return client.post(url, data={"csrf_token": csrf_token(client, url), "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def test_import_rows_attach_to_an_account_only_when_confirmed(app, make_world, make_user):
    owner = make_user(name="Budi Palsu", email="budi.palsu@contoh.id", business={"nib": NIB, "name": NAME})
    world = make_world(planners=[{"email": "perencana@contoh.id"}])
    client = app.test_client()
    assert login(client, "perencana@contoh.id", STAFF_PASSWORD).status_code == 303
    with app_db(app) as session:
        owned = session.scalar(select(Business.id).where(Business.user_id == owner))

    row = f"{NIB},{NAME},Pelatihan pewarnaan alami,Pewarna mahal,Pelatihan tiga hari,Bantuan peralatan,30000000,20,0"
    response = upload(client, f"/sesi/{world.session}/impor-usulan", f"{PROPOSAL_HEADER}\n{row},\n")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "konfirmasi_akun" in page and "Budi Palsu (b***@contoh.id)" in page
    business_file = ("nib,nama_usaha,nama_pemilik,kbli,skala,kelurahan,kecamatan,konfirmasi_akun\n"
                     f"{NIB},{NAME},Sri Handayani,13134,kecil,Kauman,Karanganyar,\n")
    response = upload(client, "/impor/usaha", business_file)
    assert response.status_code == 400 and "Budi Palsu (b***@contoh.id)" in response.get_data(as_text=True)
    response = upload(client, f"/sesi/{world.session}/undangan/impor", f"nib,nama_usaha\n{NIB},{NAME}\n")
    assert response.status_code == 400 and "Budi Palsu (b***@contoh.id)" in response.get_data(as_text=True)
    assert "konfirmasi_akun" in upload(client, "/impor/usaha", business_file.replace(",\n", ",mungkin\n")).get_data(
        as_text=True)
    with app_db(app) as session:
        assert counts(session) == (1 + len(world.businesses), 0, 0)
        assert session.get(Business, owned).kbli_list == ["10794"]  # the owner's profile was not merged into

    # Confirmed with "ya", the rows attach to the account's business.
    assert upload(client, f"/sesi/{world.session}/impor-usulan", f"{PROPOSAL_HEADER}\n{row},ya\n").status_code == 303
    assert upload(client, "/impor/usaha", business_file.replace(",\n", ",YA\n")).status_code == 303
    with app_db(app) as session:
        assert session.scalar(select(Proposal.business_id)) == owned
        assert session.get(Business, owned).kbli_list == ["10794", "13134"]

    # Once a business without an account has the NIB and name, rows go there without a question.
    with app_db(app) as session:
        door = make_business(nib=NIB, name=NAME).id
        session.commit()
    assert upload(client, f"/sesi/{world.session}/impor-usulan",
                  f"{PROPOSAL_HEADER}\n{row.replace('Pelatihan pewarnaan alami', 'Mesin celup batik')},\n").status_code == 303
    assert upload(client, f"/sesi/{world.session}/undangan/impor", f"nib,nama_usaha\n{NIB},{NAME}\n").status_code == 303
    with app_db(app) as session:
        assert session.scalars(select(Proposal.business_id).order_by(Proposal.id)).all() == [owned, door]
        assert session.scalar(select(Invitation.business_id)) == door


# Zero-width characters (finding 6) -----------------------------------------------------------------

def test_zero_width_characters_are_dropped_from_every_text(app, client):
    from participation.validation import clean_text

    assert clean_text("Usa\u200bha\u200c Ma\u200dju\u2060 Ja\ufeffya\u00ad") == "Usaha Maju Jaya"
    assert clean_text("\u200b\n\u200bbaris dua\u200b", multiline=True) == "baris dua"
    data = {**REGISTRATION, "name": "Si\u200bti Aminah", "business_name": "UD Keri\u200bpik Tempe\u2060 Bu Siti",
            "kelurahan": "Suka\u200bmaju"}
    assert post_form(client, "/daftar", data).status_code == 303
    with app_db(app) as session:
        user = session.scalar(select(User))
        assert (user.name, user.business.name, user.business.kelurahan) == (
            "Siti Aminah", "UD Keripik Tempe Bu Siti", "Sukamaju")
