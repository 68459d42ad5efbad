"""Issue 17, finding 1: a business registered at the door beside one with an account waits for staff.

The facilitator could not confirm the person as the account's owner, so the door business was
created apart from the account's; the walk-in form promised staff review. Staff then compare the
two: merge them (the proposals and invitations move to the account, the door business goes) or
keep them apart with a reason. Both are audited; a finalised session's record is never altered.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from participation.models import (
    AuditEvent,
    Business,
    Invitation,
    Proposal,
    SeparateRegistration,
    SeparateRegistrationStatus,
    SessionStatus,
    ThemedSession,
    User,
)
from tests.auth.test_register import VALID as REGISTRATION
from tests.conftest import STAFF_PASSWORD, app_db, login, post_form
from tests.hostile import HOSTILE, is_server_error
from tests.intake.test_business_identity import (
    IMPOSTOR,
    as_facilitator,
    paper,
    register_impostor,
    walk_in,
)

REVIEWS = "/perubahan-usaha"


@pytest.fixture
def world(make_world):
    return make_world(facilitator=True)


def registered_apart(app, world) -> tuple[object, int, int]:
    """An account holds the NIB and name; the person at the door is registered apart, with a paper form."""
    account_business = register_impostor(app)
    facilitator = as_facilitator(app, world)
    response = walk_in(facilitator, world, owner_match="separate", owner_business_id=str(account_business))
    assert response.status_code == 303
    assert "didaftarkan sebagai usaha terpisah, tanpa akun" in facilitator.get(response.headers["Location"]).get_data(
        as_text=True)
    assert paper(facilitator, world).status_code == 303
    with app_db(app) as session:
        review = session.scalar(select(SeparateRegistration))
        assert review.status is SeparateRegistrationStatus.PENDING
        assert review.account_business_id == account_business and review.session_id == world.session
        assert review.registered_by_id == world.facilitator
        return facilitator, review.id, review.business_id


def test_the_staff_page_shows_both_sides_and_keeping_them_apart_needs_a_reason(app, world):
    facilitator, review_id, door_id = registered_apart(app, world)
    page = facilitator.get(REVIEWS).get_data(as_text=True)
    assert "Usaha yang didaftarkan terpisah dari akun" in page
    assert "Sri Handayani" in page  # the owner named at the door
    assert f"{IMPOSTOR['name']}" in page and IMPOSTOR["email"] in page  # the account, in full for staff
    assert "Pelatihan pewarnaan alami untuk perajin batik" in page  # the door business's proposal

    path = f"{REVIEWS}/terpisah/{review_id}/pisahkan"
    response = post_form(facilitator, path, {"note": "  "}, token_from=REVIEWS)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Sebutkan mengapa keduanya usaha yang berbeda" in page
    assert f'id="alasan-terpisah-{review_id}"' in page and 'href="#alasan-terpisah-' in page

    reason = "Sertifikat NIB atas nama Sri Handayani; akun bukan pemiliknya."
    assert post_form(facilitator, path, {"note": reason}, token_from=REVIEWS).status_code == 303
    with app_db(app) as session:
        review = session.get(SeparateRegistration, review_id)
        assert (review.status, review.note, review.decided_by_id) == (
            SeparateRegistrationStatus.KEPT_SEPARATE, reason, world.facilitator)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "business.separate_registration_kept"))
        assert event.object_id == str(door_id) and event.after["note"] == reason
    assert "Tidak ada usaha terdaftar terpisah yang menunggu peninjauan." in facilitator.get(REVIEWS).get_data(
        as_text=True)
    # Decided once: a second answer changes nothing.
    response = post_form(facilitator, path, {"note": "Alasan yang lain lagi"}, token_from=REVIEWS)
    assert response.status_code == 303
    assert "Pendaftaran ini sudah ditinjau." in facilitator.get(REVIEWS).get_data(as_text=True)
    with app_db(app) as session:
        assert session.get(SeparateRegistration, review_id).note == reason


def test_merging_moves_the_door_businesss_proposal_and_invitation_to_the_account(app, world):
    facilitator, review_id, door_id = registered_apart(app, world)
    path = f"{REVIEWS}/terpisah/{review_id}/gabungkan"
    page = facilitator.get(path).get_data(as_text=True)
    assert "1 usulan pindah ke akun" in page and "Tindakan ini tidak dapat dibatalkan" in page
    with app_db(app) as session:
        assert session.scalar(select(func.count(Business.id))) == 2  # asking first changed nothing
    assert post_form(facilitator, path, {}).status_code == 303
    with app_db(app) as session:
        account = session.scalar(select(Business).join(User).where(User.email == IMPOSTOR["email"]))
        assert session.get(Business, door_id) is None
        proposal = session.scalar(select(Proposal))
        assert proposal.business_id == account.id
        invitation = session.scalar(select(Invitation))
        assert (invitation.business_id, invitation.attended) == (account.id, True)
        review = session.get(SeparateRegistration, review_id)
        assert (review.status, review.business_id) == (SeparateRegistrationStatus.MERGED, None)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "business.separate_registration_merged"))
        assert event.before["business_id"] == door_id and event.after["receipt_numbers"] == [proposal.receipt_number]
        receipt = proposal.receipt_number
    # The account's owner now follows the proposal.
    owner = app.test_client()
    assert login(owner, IMPOSTOR["email"], REGISTRATION["password"]).status_code == 303
    assert receipt in owner.get("/usulan/").get_data(as_text=True)
    # A later paper form with the NIB and name meets the account again, and asks.
    response = paper(facilitator, world, form_number="F-2")
    assert response.status_code in (400, 409)


def test_a_finalised_sessions_record_is_not_altered_by_a_merge(app, world):
    facilitator, review_id, door_id = registered_apart(app, world)
    with app_db(app) as session:
        session.get(ThemedSession, world.session).status = SessionStatus.FINALIZED
        session.commit()
    response = post_form(facilitator, f"{REVIEWS}/terpisah/{review_id}/gabungkan", {}, token_from=REVIEWS)
    assert response.status_code == 303
    page = facilitator.get(REVIEWS).get_data(as_text=True)
    assert "tidak dapat digabungkan" in page and "berita acara" in page
    with app_db(app) as session:
        assert session.get(Business, door_id) is not None
        assert session.scalar(select(Proposal)).business_id == door_id
        assert session.get(SeparateRegistration, review_id).status is SeparateRegistrationStatus.PENDING


def test_staff_of_another_session_and_owners_cannot_review(app, world, make_user):
    _facilitator, review_id, _door = registered_apart(app, world)
    make_user(role="facilitator", email="lain@contoh.id")
    client = app.test_client()
    assert login(client, "lain@contoh.id", STAFF_PASSWORD).status_code == 303
    assert "Sri Handayani" not in client.get(REVIEWS).get_data(as_text=True)
    assert client.get(f"{REVIEWS}/terpisah/{review_id}/gabungkan").status_code == 404
    assert post_form(client, f"{REVIEWS}/terpisah/{review_id}/pisahkan", {"note": "Bukan urusan saya"},
                     token_from=REVIEWS).status_code == 404
    owner = app.test_client()
    assert login(owner, IMPOSTOR["email"], REGISTRATION["password"]).status_code == 303
    assert owner.get(f"{REVIEWS}/terpisah/{review_id}/gabungkan").status_code == 403


@pytest.mark.parametrize("name", ["script_tag", "nul_byte", "ten_thousand", "template", "formula", "rtl_override",
                                  "zero_width", "only_nul"])
def test_hostile_reasons_are_refused_or_kept_as_text(app, world, name):
    facilitator, review_id, _door = registered_apart(app, world)
    response = post_form(facilitator, f"{REVIEWS}/terpisah/{review_id}/pisahkan", {"note": HOSTILE[name]},
                         token_from=REVIEWS)
    assert not is_server_error(response)
    with app_db(app) as session:
        review = session.get(SeparateRegistration, review_id)
        if response.status_code == 303:
            assert review.status is SeparateRegistrationStatus.KEPT_SEPARATE
            assert "\x00" not in review.note and len(review.note) <= 500
        else:
            assert response.status_code == 400
            assert review.status is SeparateRegistrationStatus.PENDING
            page = response.get_data(as_text=True)
            assert "<script>alert" not in page  # kept, escaped, in the reason box
            assert "Mohon perbaiki isian berikut" in page


def test_erasing_the_account_leaves_nothing_to_compare(app, world):
    from participation.events import Actor
    from participation.extensions import db
    from participation.privacy.services import erase_account

    facilitator, review_id, door_id = registered_apart(app, world)
    with app.app_context():
        erase_account(db.session.scalar(select(User).where(User.email == IMPOSTOR["email"])), Actor.cli())
        db.session.commit()
    with app_db(app) as session:
        assert session.get(SeparateRegistration, review_id) is None
        assert session.get(Business, door_id) is not None  # the door business and its proposal stay
    page = facilitator.get(REVIEWS)
    assert page.status_code == 200
    assert "Tidak ada usaha terdaftar terpisah yang menunggu peninjauan." in page.get_data(as_text=True)
