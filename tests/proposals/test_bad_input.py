"""Bad input on the proposal pages is refused with a message, never a server error (issue 17)."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from participation.models import Proposal, ProposalStatus
from tests.conftest import app_db, post_form
from tests.factories import PDF_BYTES
from tests.proposals.test_proposals import FULL, proposals, submit_new


@pytest.fixture
def world(make_world, login_as):
    """An open session with an owner signed in."""
    world = make_world(facilitator=True, owner=True)
    login_as(world.owner)
    return world


def edit(client, proposal_id: int, action="save", attachment: bytes | None = None, **changes):
    data = {**FULL, **changes, "action": action}
    if attachment is not None:
        data["attachment"] = (io.BytesIO(attachment), "penawaran.pdf")
    return post_form(client, f"/usulan/{proposal_id}/ubah", {k: v for k, v in data.items() if v is not None},
                     content_type="multipart/form-data")


@pytest.mark.parametrize("with_attachment", [True, False])
def test_a_draft_saved_with_its_numbers_emptied_keeps_them_unset(app, client, world, with_attachment):
    assert submit_new(client, world, action="draft").status_code == 303
    [draft] = proposals(app)
    response = edit(client, draft.id, category_id=str(world.categories[2]), estimated_cost="", beneficiaries="",
                    jobs_created="", attachment=PDF_BYTES if with_attachment else None)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    [draft] = proposals(app)
    assert draft.status is ProposalStatus.DRAFT
    assert (draft.estimated_cost, draft.beneficiaries, draft.jobs_created) == (None, None, None)
    assert (draft.attachment_name is not None) is with_attachment
    page = client.get(f"/usulan/{draft.id}").get_data(as_text=True)
    assert "Draf ini masih memerlukan" in page and "Perkiraan biaya (Rupiah)" in page


def test_submitting_with_a_number_emptied_marks_it_missing(app, client, world):
    response = submit_new(client, world, beneficiaries="")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and 'href="#beneficiaries"' in body
    assert proposals(app) == []
    assert submit_new(client, world, action="draft").status_code == 303
    [draft] = proposals(app)
    response = edit(client, draft.id, action="submit", category_id=str(world.categories[2]), jobs_created="")
    assert response.status_code == 400 and 'href="#jobs_created"' in response.get_data(as_text=True)
    assert proposals(app)[0].status is ProposalStatus.DRAFT


def test_a_submitted_proposal_cannot_lose_a_number(app, client, world):
    assert submit_new(client, world).status_code == 303
    [proposal] = proposals(app)
    response = edit(client, proposal.id, category_id=str(world.categories[2]), estimated_cost="")
    assert response.status_code == 400 and "Wajib diisi sebelum mengirim." in response.get_data(as_text=True)
    assert proposals(app)[0].estimated_cost == 45_500_000


def test_drafts_per_business_are_capped(app, client, world):
    app.config["MAX_DRAFTS_PER_BUSINESS"] = 2
    for number in range(2):
        assert submit_new(client, world, action="draft", title=f"Draf nomor {number} keripik").status_code == 303
    response = submit_new(client, world, action="draft", title="Draf ketiga yang ditolak")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "batas 2 draf" in body
    assert 'value="Draf ketiga yang ditolak"' in body  # the typed data is kept
    # Submitting at once is still possible: it does not add a draft.
    assert submit_new(client, world, title="Usulan langsung dikirim").status_code == 303
    with app_db(app) as session:
        counts = dict(session.execute(select(Proposal.status, func.count()).group_by(Proposal.status)).all())
    assert counts == {ProposalStatus.DRAFT: 2, ProposalStatus.SUBMITTED: 1}
    # The page says so before anything is typed.
    page = client.get(f"/usulan/baru/{world.session}").get_data(as_text=True)
    assert "batas 2 draf" in page


def test_a_post_without_csrf_token_to_another_owners_proposal_answers_404(app, client, world, make_user,
                                                                           login_as):
    assert submit_new(client, world, action="draft").status_code == 303
    [draft] = proposals(app)
    post_form(client, "/keluar", {}, token_from="/")
    login_as(make_user("proponent"))
    data = {**FULL, "action": "save"}
    assert client.post(f"/usulan/{draft.id}/ubah", data=data).status_code == 404
    assert client.post(f"/usulan/baru/{world.session + 1000}", data=data).status_code == 404
    assert proposals(app)[0].title == draft.title


def test_a_post_without_csrf_token_rerenders_or_explains_the_reload(app, client, world):
    assert submit_new(client, world, action="draft").status_code == 303
    [draft] = proposals(app)
    data = {**FULL, "title": "Judul yang diketik ulang", "action": "save"}
    response = client.post(f"/usulan/{draft.id}/ubah", data=data)
    assert response.status_code == 400 and 'value="Judul yang diketik ulang"' in response.get_data(as_text=True)
    with app_db(app) as session:
        session.get(Proposal, draft.id).status = ProposalStatus.WITHDRAWN
        session.commit()
    # The view would redirect (the proposal can no longer be changed): there is no form to show
    # again, so the page says to reload, and nothing is saved.
    response = client.post(f"/usulan/{draft.id}/ubah", data=data)
    assert response.status_code == 400 and "Muat ulang halaman" in response.get_data(as_text=True)
    with app_db(app) as session:
        assert session.get(Proposal, draft.id).title != data["title"]


def test_a_post_without_csrf_token_to_another_teams_session_page_answers_404(app, client, make_world, make_user,
                                                                             login_as):
    world = make_world(facilitator=True)
    login_as(make_user("facilitator"))
    assert client.post(f"/sesi/{world.session}/usulan-kertas", data={"nib": "1"}).status_code == 404
    assert client.post("/impor/usaha", data={}).status_code == 403
