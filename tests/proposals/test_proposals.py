"""Business owners draft, submit, edit and withdraw proposals; receipts, limits, attachments."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from participation.models import (
    AuditEvent,
    Proposal,
    ProposalStatus,
    Role,
    SessionStatus,
    ThemedSession,
    User,
    utcnow,
)
from tests.conftest import app_db, csrf_token, post_form
from tests.factories import PDF_BYTES, PNG_BYTES, as_actor

FULL = {
    "title": "Mesin pengemas vakum untuk keripik",
    "category_id": None,  # filled per session
    "problem": "Keripik cepat lembek karena dikemas manual.",
    "description": "Pengadaan satu mesin pengemas vakum untuk dipakai bersama.",
    "estimated_cost": "Rp 45.500.000",
    "beneficiaries": "25",
    "jobs_created": "3",
    "kelurahan": "Sukamaju",
    "kecamatan": "Sukamaju",
}


@pytest.fixture
def world(make_world, login_as):
    """An open session with an owner signed in; proposals go to its third category."""
    world = make_world(facilitator=True, owner=True)
    login_as(world.owner)
    return world


def new_form(client, world):
    """The new-proposal page's CSRF token and idempotency key, as a browser would see them."""
    page = client.get(f"/usulan/baru/{world.session}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    key = re.search(r'name="idempotency_key"[^>]*value="([0-9a-f]{32})"', page).group(1)
    return token, key


def submit_new(client, world, action="submit", **changes):
    token, key = new_form(client, world)
    data = {**FULL, "category_id": str(world.categories[2]), "csrf_token": token, "idempotency_key": key,
            "action": action, **changes}
    return client.post(f"/usulan/baru/{world.session}", data={k: v for k, v in data.items() if v is not None})


def proposals(app):
    with app_db(app) as session:
        items = session.scalars(select(Proposal).order_by(Proposal.id)).all()
        for item in items:
            _ = item.history  # load it before the session closes
        session.expunge_all()
        return items


def test_owner_sees_open_sessions_and_submits_getting_a_receipt(app, client, world):
    page = client.get("/usulan/").get_data(as_text=True)
    assert "Musrenbang Tematik Uji" in page and f"/usulan/baru/{world.session}" in page
    response = submit_new(client, world)
    assert response.status_code == 303
    [proposal] = proposals(app)
    assert response.headers["Location"].endswith(f"/usulan/{proposal.id}")
    assert proposal.status is ProposalStatus.SUBMITTED and proposal.receipt_number == "MT-2027-0001"
    assert proposal.estimated_cost == 45_500_000
    detail = client.get(f"/usulan/{proposal.id}").get_data(as_text=True)
    assert "MT-2027-0001" in detail and "Rp45.500.000" in detail
    assert [change.to_status for change in proposal.history] == [ProposalStatus.DRAFT, ProposalStatus.SUBMITTED]


def test_a_draft_needs_only_a_title_and_is_submitted_later(app, client, world):
    response = submit_new(client, world, action="draft", problem="", description="", estimated_cost="",
                          beneficiaries="", jobs_created="", category_id="")
    assert response.status_code == 303
    [draft] = proposals(app)
    assert draft.status is ProposalStatus.DRAFT and draft.receipt_number is None
    page = client.get(f"/usulan/{draft.id}").get_data(as_text=True)
    assert "Draf ini masih memerlukan" in page and "Perkiraan biaya (Rupiah)" in page
    # Submitting the incomplete draft is refused and leads to the form.
    response = post_form(client, f"/usulan/{draft.id}/kirim", {}, token_from=f"/usulan/{draft.id}")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/usulan/{draft.id}/ubah")
    assert proposals(app)[0].status is ProposalStatus.DRAFT
    # Completing it in the edit form with the submit button gives it a receipt.
    data = {**FULL, "category_id": str(world.categories[2]), "action": "submit"}
    response = post_form(client, f"/usulan/{draft.id}/ubah", data)
    assert response.status_code == 303
    assert proposals(app)[0].receipt_number == "MT-2027-0001"


def test_submitting_an_incomplete_form_marks_every_missing_field(app, client, world):
    response = submit_new(client, world, problem="", estimated_cost="", category_id="")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert body.count("Wajib diisi sebelum mengirim.") == 6  # in the summary and at each field
    for field in ("problem", "estimated_cost", "category_id"):
        assert f'href="#{field}"' in body
    assert 'value="Mesin pengemas vakum untuk keripik"' in body
    assert proposals(app) == []


def test_double_click_or_replay_stores_one_proposal(app, client, world):
    token, key = new_form(client, world)
    data = {**FULL, "category_id": str(world.categories[2]), "csrf_token": token, "idempotency_key": key,
            "action": "submit"}
    first = client.post(f"/usulan/baru/{world.session}", data=data)
    second = client.post(f"/usulan/baru/{world.session}", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(proposals(app)) == 1


def test_owner_edits_until_the_window_closes(app, client, world):
    submit_new(client, world)
    [proposal] = proposals(app)
    data = {**FULL, "category_id": str(world.categories[2]), "title": "Mesin pengemas vakum bersama", "action": "save"}
    assert post_form(client, f"/usulan/{proposal.id}/ubah", data).status_code == 303
    assert proposals(app)[0].title == "Mesin pengemas vakum bersama"
    # A submitted proposal must stay complete.
    response = post_form(client, f"/usulan/{proposal.id}/ubah", {**data, "problem": ""})
    assert response.status_code == 400 and "Wajib diisi sebelum mengirim." in response.get_data(as_text=True)
    with app_db(app) as session:
        session.get(ThemedSession, world.session).submission_closes_at = utcnow() - timedelta(minutes=1)
        session.commit()
    response = client.get(f"/usulan/{proposal.id}/ubah")
    assert response.status_code == 302
    assert post_form(client, f"/usulan/{proposal.id}/ubah", data, token_from=f"/usulan/{proposal.id}").status_code == 302
    response = post_form(client, f"/usulan/{proposal.id}/tarik", {}, token_from=f"/usulan/{proposal.id}")
    assert proposals(app)[0].status is ProposalStatus.SUBMITTED
    assert "sudah ditutup" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_owner_withdraws_and_sees_the_history(app, client, world):
    submit_new(client, world)
    [proposal] = proposals(app)
    response = post_form(client, f"/usulan/{proposal.id}/tarik", {}, token_from=f"/usulan/{proposal.id}")
    assert response.status_code == 303
    withdrawn = proposals(app)[0]
    assert withdrawn.status is ProposalStatus.WITHDRAWN and withdrawn.receipt_number == "MT-2027-0001"
    page = client.get("/usulan/").get_data(as_text=True)
    assert "Riwayat status" in page and page.count("Ditarik") >= 2  # badge and history entry
    with app_db(app) as session:
        assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "proposal.withdrawn"))


def test_the_per_business_limit_is_enforced(app, client, world):
    with app_db(app) as session:
        session.get(ThemedSession, world.session).max_proposals_per_business = 2
        session.commit()
    assert submit_new(client, world, title="Usulan pertama yang lengkap").status_code == 303
    assert submit_new(client, world, title="Usulan kedua yang lengkap").status_code == 303
    response = submit_new(client, world, title="Usulan ketiga yang lengkap")
    assert response.status_code == 400
    assert "sudah mencapai batas 2 usulan terkirim" in response.get_data(as_text=True)
    # A draft is still allowed, and withdrawing frees a place.
    assert submit_new(client, world, title="Usulan ketiga yang lengkap", action="draft").status_code == 303
    first, _, draft = proposals(app)
    post_form(client, f"/usulan/{first.id}/tarik", {}, token_from=f"/usulan/{first.id}")
    assert post_form(client, f"/usulan/{draft.id}/kirim", {}, token_from=f"/usulan/{draft.id}").status_code == 303
    assert proposals(app)[2].receipt_number == "MT-2027-0003"


def test_invitation_only_sessions_are_hidden_from_the_uninvited(app, client, world):
    with app_db(app) as session:
        session.get(ThemedSession, world.session).invitation_only = True
        session.commit()
    assert "Musrenbang Tematik Uji" not in client.get("/usulan/").get_data(as_text=True)
    assert client.get(f"/usulan/baru/{world.session}").status_code == 404
    from participation.intake.services import invite

    with app_db(app) as session:
        business = session.get(User, world.owner).business
        invite(session.get(ThemedSession, world.session), [business.id], as_actor(None))
        session.commit()
    assert client.get(f"/usulan/baru/{world.session}").status_code == 200


def test_draft_sessions_take_no_proposals(app, client, world):
    with app_db(app) as session:
        session.get(ThemedSession, world.session).status = SessionStatus.DRAFT
        session.commit()
    assert client.get(f"/usulan/baru/{world.session}").status_code == 404


def test_similar_titles_of_one_business_are_flagged_for_the_planner(app, client, world, login_as):
    submit_new(client, world, title="Pelatihan pemasaran digital untuk UMKM")
    submit_new(client, world, title="Pelatihan Pemasaran Digital bagi UMKM")
    submit_new(client, world, title="Sertifikasi halal produk keripik")
    first, second, third = proposals(app)
    assert second.near_duplicate_of_id == first.id and third.near_duplicate_of_id is None
    post_form(client, "/keluar", {}, token_from="/")
    login_as(world.planner)
    page = client.get(f"/sesi/{world.session}/usulan").get_data(as_text=True)
    assert page.count("Mirip dengan MT-2027-0001") == 1


def upload(client, world, content: bytes, filename: str):
    token, key = new_form(client, world)
    data = {**FULL, "category_id": str(world.categories[2]), "csrf_token": token, "idempotency_key": key,
            "action": "submit", "attachment": (io.BytesIO(content), filename)}
    return client.post(f"/usulan/baru/{world.session}", data=data, content_type="multipart/form-data")


def test_attachments_are_checked_by_content_and_stored_in_the_database(app, client, world):
    from participation.models import StoredFile

    assert upload(client, world, PDF_BYTES, "penawaran harga.pdf").status_code == 303
    [proposal] = proposals(app)
    assert proposal.attachment_type == "application/pdf" and proposal.attachment_name == "penawaran harga.pdf"
    with app_db(app) as session:
        assert session.scalars(select(StoredFile.data).where(StoredFile.id == proposal.attachment_id)).all() == [
            PDF_BYTES]
    download = client.get(f"/usulan/{proposal.id}/lampiran")
    assert download.status_code == 200 and download.data == PDF_BYTES
    assert "attachment" in download.headers["Content-Disposition"]
    # A program renamed to .pdf, a text file and an oversized PNG are refused.
    for content, name, message in ((b"MZ\x90\x00" + b"\x00" * 100, "surat.pdf", "Hanya berkas PDF, JPEG, atau PNG"),
                                   (b"<script>alert(1)</script>", "foto.png", "Hanya berkas PDF, JPEG, atau PNG"),
                                   (PNG_BYTES + b"\x00" * (5 * 1024 * 1024), "besar.png", "lebih besar dari 5 MB")):
        response = upload(client, world, content, name)
        assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert len(proposals(app)) == 1
    with app_db(app) as session:
        assert session.scalar(select(func.count(StoredFile.id))) == 1


def test_attachment_download_is_limited_to_the_owner_and_the_session_staff(app, client, world, make_user, login_as):
    upload(client, world, PDF_BYTES, "penawaran.pdf")
    [proposal] = proposals(app)
    url = f"/usulan/{proposal.id}/lampiran"
    other_owner, other_planner = make_user(), make_user("planner")
    for user_id, status in ((world.planner, 200), (world.facilitator, 200), (other_owner, 404),
                            (other_planner, 404)):
        post_form(client, "/keluar", {}, token_from="/")
        login_as(user_id)
        assert client.get(url).status_code == status, user_id
    post_form(client, "/keluar", {}, token_from="/")
    assert client.get(url).status_code == 404


def test_an_admin_outside_the_session_team_cannot_download_attachments(app, client, world, make_user, login_as):
    upload(client, world, PDF_BYTES, "penawaran.pdf")
    [proposal] = proposals(app)
    post_form(client, "/keluar", {}, token_from="/")
    login_as(make_user("admin"))
    assert client.get(f"/usulan/{proposal.id}/lampiran").status_code == 404
    page = client.get(f"/usulan/{proposal.id}").get_data(as_text=True)  # the proposal itself stays readable
    assert "penawaran.pdf" in page and f"/usulan/{proposal.id}/lampiran" not in page
    with app_db(app) as session:  # the same answer from the model, for any role outside the team
        stored = session.get(Proposal, proposal.id)
        admin = session.scalar(select(User).where(User.role == Role.ADMIN))
        assert stored.can_view(admin) and not stored.can_download_attachment(admin)


def test_another_owners_proposal_answers_404_everywhere(app, client, world, make_user, login_as):
    submit_new(client, world)
    submit_new(client, world, title="Draf milik pemilik pertama", action="draft")
    submitted, draft = proposals(app)
    post_form(client, "/keluar", {}, token_from="/")
    login_as(make_user())
    token = csrf_token(client, "/usulan/")
    for method, url in (("GET", f"/usulan/{submitted.id}"), ("GET", f"/usulan/{submitted.id}/ubah"),
                        ("POST", f"/usulan/{submitted.id}/ubah"), ("POST", f"/usulan/{submitted.id}/tarik"),
                        ("POST", f"/usulan/{draft.id}/kirim"), ("POST", f"/usulan/{draft.id}/hapus"),
                        ("GET", f"/usulan/{submitted.id}/lampiran"), ("GET", "/usulan/2147483648")):
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 404, (method, url)
    assert [p.status for p in proposals(app)] == [ProposalStatus.SUBMITTED, ProposalStatus.DRAFT]


def test_owner_deletes_a_draft(app, client, world):
    submit_new(client, world, action="draft")
    [draft] = proposals(app)
    assert post_form(client, f"/usulan/{draft.id}/hapus", {}, token_from=f"/usulan/{draft.id}").status_code == 303
    assert proposals(app) == []


# Rules asked when the change is made ----------------------------------------------------------

def _shut_out(app, world) -> tuple[int, int]:
    """The owner keeps a draft and a submitted proposal; then the session takes invited businesses only."""
    from tests.factories import make_proposal

    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        business = session.get(User, world.owner).business
        draft = make_proposal(themed_session, business, submit=False, title="Draf lama pelatihan")
        sent = make_proposal(themed_session, business, title="Usulan terkirim mesin jahit")
        themed_session.invitation_only = True  # and the owner's business is not on the roster
        session.commit()
        return draft.id, sent.id


def test_an_uninvited_owner_reads_and_deletes_but_cannot_submit_edit_or_withdraw(app, client, world):
    draft_id, sent_id = _shut_out(app, world)
    page = client.get(f"/usulan/{draft_id}").get_data(as_text=True)
    assert "hanya menerima usulan dari usaha yang diundang" in page
    assert f"/usulan/{draft_id}/hapus" in page
    assert f"/usulan/{draft_id}/kirim" not in page and f"/usulan/{draft_id}/ubah" not in page
    sent_page = client.get(f"/usulan/{sent_id}").get_data(as_text=True)
    assert f"/usulan/{sent_id}/tarik" not in sent_page and f"/usulan/{sent_id}/ubah" not in sent_page
    data = {**FULL, "category_id": str(world.categories[2]), "action": "submit"}
    # Every door refuses at the moment of the POST, with the reason.
    for path, payload in ((f"/usulan/{draft_id}/kirim", {}), (f"/usulan/{draft_id}/ubah", data),
                          (f"/usulan/{sent_id}/ubah", {**data, "action": "save", "title": "Judul baru sekali"}),
                          (f"/usulan/{sent_id}/tarik", {})):
        response = post_form(client, path, payload, token_from=f"/usulan/{draft_id}")
        assert response.status_code in (302, 303), path
        assert "hanya menerima usulan dari usaha yang diundang" in client.get(response.headers["Location"]).get_data(as_text=True)
    draft, sent = proposals(app)
    assert draft.status is ProposalStatus.DRAFT and draft.receipt_number is None
    assert sent.status is ProposalStatus.SUBMITTED and sent.title == "Usulan terkirim mesin jahit"
    # Deleting their own draft stays possible.
    assert post_form(client, f"/usulan/{draft_id}/hapus", {}, token_from=f"/usulan/{draft_id}").status_code == 303
    assert [p.id for p in proposals(app)] == [sent_id]


def test_the_services_refuse_an_uninvited_owner_on_every_channel(app, world):
    from participation.proposals import services

    draft_id, sent_id = _shut_out(app, world)
    with app_db(app) as session:
        owner = session.get(User, world.owner)
        actor = as_actor(owner)
        draft, sent = session.get(Proposal, draft_id), session.get(Proposal, sent_id)
        themed_session = session.get(ThemedSession, world.session)
        for operation in (lambda: services.submit_proposal(draft, actor),
                          lambda: services.edit_proposal(draft, {"title": "Judul lain"}, actor),
                          lambda: services.edit_proposal(draft, {}, actor, submit=True),
                          lambda: services.withdraw_proposal(sent, actor),
                          lambda: services.create_proposal(themed_session, owner.business, {"title": "Baru"},
                                                           actor, submit=False)):
            with pytest.raises(services.ProposalError) as refused:
                operation()
            assert refused.value.code == "not_invited"
        session.rollback()
        # Invited again, the same calls go through.
        from participation.intake.services import invite

        invite(themed_session, [owner.business.id], as_actor(None))
        services.submit_proposal(session.get(Proposal, draft_id), actor)
        services.withdraw_proposal(session.get(Proposal, sent_id), actor)
        session.commit()
    assert [p.status for p in proposals(app)] == [ProposalStatus.SUBMITTED, ProposalStatus.WITHDRAWN]


def test_editing_is_refused_by_the_service_once_the_window_closed_or_the_proposal_is_withdrawn(app, world):
    from participation.proposals import services
    from tests.factories import make_proposal

    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        owner = session.get(User, world.owner)
        proposal = make_proposal(themed_session, owner.business, title="Usulan mesin pengering")
        withdrawn = make_proposal(themed_session, owner.business, title="Usulan lain yang ditarik")
        services.withdraw_proposal(withdrawn, as_actor(owner))
        themed_session.submission_closes_at = utcnow() - timedelta(minutes=1)
        session.commit()
        for target, code in ((proposal, "closed"), (withdrawn, "withdrawn")):
            with pytest.raises(services.ProposalError) as refused:
                services.edit_proposal(target, {"title": "Diubah setelah ditutup"}, as_actor(owner))
            assert refused.value.code == code
        with pytest.raises(services.ProposalError) as refused:
            services.create_proposal(themed_session, owner.business, {"title": "Draf baru"}, as_actor(owner),
                                     submit=False)
        assert refused.value.code == "closed"
        session.rollback()
    assert {p.title for p in proposals(app)} == {"Usulan mesin pengering", "Usulan lain yang ditarik"}
