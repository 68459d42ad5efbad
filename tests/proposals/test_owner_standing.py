"""The owner knows where a proposal stands: final outcome badges and history, the receipt (page and
PDF), the "N of M" count before writing, confirmations before irreversible steps, resubmission."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from participation.models import (
    AuditEvent,
    FinalStanding,
    Outcome,
    Proposal,
    ProposalStatus,
    SessionStatus,
    ThemedSession,
    User,
    utcnow,
)
from tests.conftest import ROOT, app_db, csrf_token, post_form
from tests.factories import as_actor, make_proposal
from tests.hostile import HOSTILE, is_server_error

ARTIFACTS = ROOT / "test-artifacts"
CEILING = 50_000_000
# Rated so that "Dalam pagu" ranks first, "Di luar pagu" second (30 + 30 > 50 million: outside the
# ceiling), "Ditolak" third.
RATINGS = {"Usulan dalam pagu": 5, "Usulan di luar pagu": 4, "Usulan yang ditolak": 3}


@pytest.fixture
def world(make_world):
    return make_world(facilitator=True, owner=True, budget_ceiling=CEILING,
                      proposals=[{"business": "owner", "title": title, "estimated_cost": 30_000_000}
                                 for title in RATINGS])


def finalise(app, world, outcomes=(Outcome.PRIORITIZED, Outcome.PRIORITIZED, Outcome.REJECTED)):
    """Rate, close, decide and finalise through the services, as the planner would."""
    from participation.review import services as review
    from tests.factories import rate

    with app_db(app) as session:
        planner = session.get(User, world.planner)
        themed_session = session.get(ThemedSession, world.session)
        proposals = [session.get(Proposal, pid) for pid in world.proposals]
        rate(proposals, [planner], lambda proposal, criterion, rater: RATINGS[proposal.title])
        themed_session.status = SessionStatus.REVIEW
        session.flush()
        for proposal, outcome in zip(proposals, outcomes, strict=True):
            review.decide(proposal, outcome, "Alasan keputusan perencana untuk usulan ini.", as_actor(planner))
        review.finalize(themed_session, {}, as_actor(planner))
        session.commit()


def visible(html: str) -> str:
    """The text of a page as read: tags dropped, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" .", ".")


# --- the final standing ----------------------------------------------------------------------------

@pytest.mark.parametrize("line,expected", [
    ({"rank": 1, "selected": True, "decision": "prioritized"}, FinalStanding.FUNDED),
    ({"rank": 2, "selected": False, "decision": "prioritized"}, FinalStanding.OUTSIDE_CEILING),
    ({"rank": 1, "selected": True, "decision": "deferred"}, FinalStanding.DEFERRED),
    ({"rank": 1, "selected": True, "decision": "rejected"}, FinalStanding.REJECTED),
    ({"rank": 1, "selected": True, "decision": None}, FinalStanding.WITHIN_CEILING),
    ({"rank": 4, "selected": False, "decision": None}, FinalStanding.NOT_WITHIN_CEILING),
    ({"rank": None, "selected": None, "decision": "prioritized"}, FinalStanding.NOT_RANKED),
    (None, None),
])
def test_the_standing_joins_the_decision_with_the_selection(line, expected):
    assert FinalStanding.of_line(line) is expected


def test_after_finalisation_the_owner_sees_the_final_outcome_on_badges_and_in_the_history(app, client, world,
                                                                                        login_as):
    login_as(world.owner)
    before = client.get("/usulan/").get_data(as_text=True)
    assert "Diprioritaskan" not in before and before.count(">Terkirim<") == 3
    finalise(app, world)
    listing = client.get("/usulan/").get_data(as_text=True)
    badges = re.findall(r'data-status><span class="badge [^"]+">([^<]+)<', listing)
    assert sorted(badges) == sorted(["Diprioritaskan · didanai dalam pagu", "Diprioritaskan · di luar pagu",
                                     "Ditolak · tidak didanai"])
    # The history (in the list and on the page) ends with the final ranking's outcome.
    assert "Diprioritaskan · didanai dalam pagu — peringkat final" in listing
    funded, outside, rejected = (client.get(f"/usulan/{pid}").get_data(as_text=True) for pid in world.proposals)
    assert re.search(r'data-status><span class="badge text-bg-success">Diprioritaskan · didanai dalam pagu<', funded)
    assert "data-outside-ceiling" not in funded
    assert re.search(r'data-status><span class="badge text-bg-warning">Diprioritaskan · di luar pagu<', outside)
    history = re.search(r"<ol class=\"small\" data-history>(.*?)</ol>", outside, re.DOTALL).group(1)
    assert [re.sub(r"^.*?: ", "", item) for item in re.findall(r"<li>(.*?)</li>", history)] == [
        "Draf", "Terkirim", "Diprioritaskan · di luar pagu — peringkat final"]
    explanation = re.search(r"data-outside-ceiling>(.*?)</div>", outside, re.DOTALL).group(1)
    assert "tidak tertampung dalam pagu anggaran sesi ini sebesar Rp50.000.000" in explanation
    assert "Tidak muat dalam sisa pagu Rp20.000.000." in explanation
    assert "tidak didanai dari anggaran sesi ini" in explanation
    assert "Ditolak · tidak didanai" in rejected and "data-outside-ceiling" not in rejected


def test_a_correction_adds_its_version_to_the_history(app, client, world, login_as):
    from participation.review import services as review

    finalise(app, world)
    with app_db(app) as session:
        planner = session.get(User, world.planner)
        review.decide(session.get(Proposal, world.proposals[1]), Outcome.DEFERRED, "Ditunda ke tahun depan.",
                      as_actor(planner), correction_reason="Salah catat saat rapat.")
        session.commit()
    login_as(world.owner)
    page = client.get(f"/usulan/{world.proposals[1]}").get_data(as_text=True)
    assert re.search(r'data-status><span class="badge [^"]+">Ditunda · tidak didanai<', page)
    assert "Diprioritaskan · di luar pagu — peringkat final" in page
    assert "Ditunda · tidak didanai — peringkat dikoreksi, versi 2" in page
    assert "data-outside-ceiling" not in page


# --- "N of M" before writing ------------------------------------------------------------------------

def test_the_count_of_proposals_used_is_shown_before_writing(app, client, make_world, login_as):
    world = make_world(owner=True, max_proposals_per_business=2,
                       proposals=[{"business": "owner", "title": "Usulan pertama"}])
    login_as(world.owner)
    listing = visible(client.get("/usulan/").get_data(as_text=True))
    assert "1 dari 2 usulan terpakai. Anda masih dapat mengirim 1 usulan lagi." in listing and "Anda masih dapat mengirim 1 usulan lagi." in listing
    form = client.get(f"/usulan/baru/{world.session}").get_data(as_text=True)
    assert "1 dari 2 usulan terpakai" in form
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        make_proposal(themed_session, session.get(User, world.owner).business, title="Usulan kedua yang berbeda")
        session.commit()
    form = client.get(f"/usulan/baru/{world.session}").get_data(as_text=True)
    assert "2 dari 2 usulan terpakai" in form and "sudah mencapai batas sesi ini" in form
    assert "2 dari 2 usulan terpakai" in client.get("/usulan/").get_data(as_text=True)
    edit = visible(client.get(f"/usulan/{world.proposals[0]}/ubah").get_data(as_text=True))
    assert "2 dari 2 usulan terpakai (usulan ini salah satunya)." in edit


def test_the_quota_counts_submitted_proposals_and_drafts_apart(app, make_world):
    from participation.proposals import services

    world = make_world(owner=True, max_proposals_per_business=3,
                       proposals=[{"business": "owner", "title": "Usulan terkirim satu"},
                                  {"business": "owner", "title": "Draf yang belum dikirim", "submit": False}])
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        business = session.get(User, world.owner).business
        quota = services.quota_of(themed_session, business)
        assert (quota.used, quota.limit, quota.remaining, quota.is_full, quota.drafts) == (1, 3, 2, False, 1)
        services.withdraw_proposal(session.get(Proposal, world.proposals[0]), as_actor(business.user))
        assert services.quota_of(themed_session, business).used == 0


# --- resubmission -------------------------------------------------------------------------------------

def test_a_withdrawn_proposal_is_submitted_again_with_its_receipt_number(app, make_world):
    from participation.proposals import services

    world = make_world(owner=True, proposals=[{"business": "owner", "title": "Usulan yang ditarik dulu"}])
    with app_db(app) as session:
        proposal = session.get(Proposal, world.proposals[0])
        owner = session.get(User, world.owner)
        receipt, first_time = proposal.receipt_number, proposal.submitted_at
        services.withdraw_proposal(proposal, as_actor(owner))
        assert not proposal.can_edit(owner) and proposal.can_resubmit(owner) and not proposal.has_receipt
        services.resubmit_proposal(proposal, as_actor(owner))
        session.commit()
        assert proposal.status is ProposalStatus.SUBMITTED and proposal.receipt_number == receipt
        assert proposal.submitted_at >= first_time and proposal.can_edit(owner)
        assert [c.to_status.value for c in proposal.history] == ["draft", "submitted", "withdrawn", "submitted"]
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "proposal.resubmitted"))
        assert event.object_id == str(proposal.id) and event.after["receipt_number"] == receipt
        assert event.before["status"] == "withdrawn"
        with pytest.raises(services.ProposalError) as refused:
            services.resubmit_proposal(proposal, as_actor(owner))
        assert refused.value.code == "not_withdrawn"


def test_resubmission_is_refused_after_the_window_or_beyond_the_limit(app, make_world):
    from participation.proposals import services

    world = make_world(owner=True, max_proposals_per_business=1,
                       proposals=[{"business": "owner", "title": "Usulan pertama ditarik"}])
    with app_db(app) as session:
        owner = session.get(User, world.owner)
        proposal = session.get(Proposal, world.proposals[0])
        services.withdraw_proposal(proposal, as_actor(owner))
        # Its place was taken by another proposal meanwhile: the limit holds.
        other = make_proposal(proposal.themed_session, owner.business, title="Usulan pengganti lain sama sekali")
        with pytest.raises(services.ProposalError) as refused:
            services.resubmit_proposal(proposal, as_actor(owner))
        assert refused.value.code == "limit"
        services.withdraw_proposal(other, as_actor(owner))
        proposal.themed_session.submission_closes_at = utcnow() - timedelta(minutes=1)
        with pytest.raises(services.ProposalError) as refused:
            services.resubmit_proposal(proposal, as_actor(owner))
        assert refused.value.code == "closed"
        assert not proposal.can_resubmit(owner)
        session.rollback()


def test_the_owner_resubmits_from_the_page(app, client, make_world, login_as):
    world = make_world(owner=True, proposals=[{"business": "owner", "title": "Usulan ditarik lalu dikirim"}])
    login_as(world.owner)
    pid = world.proposals[0]
    assert post_form(client, f"/usulan/{pid}/tarik", {}, token_from=f"/usulan/{pid}/tarik").status_code == 303
    page = client.get(f"/usulan/{pid}").get_data(as_text=True)
    assert "Anda telah menarik usulan ini." in page and "Kirim ulang" in page
    response = post_form(client, f"/usulan/{pid}/kirim-ulang", {}, token_from=f"/usulan/{pid}")
    assert response.status_code == 303
    page = client.get(f"/usulan/{pid}").get_data(as_text=True)
    assert "telah dikirim ulang dengan nomor tanda terima yang sama" in page
    assert re.search(r'data-status><span class="badge [^"]+">Terkirim<', page)
    again = post_form(client, f"/usulan/{pid}/kirim-ulang", {}, token_from=f"/usulan/{pid}")
    assert again.status_code == 303
    assert "Hanya usulan yang sudah ditarik yang dapat dikirim ulang." in client.get(f"/usulan/{pid}").get_data(as_text=True)


# --- confirmations ------------------------------------------------------------------------------------

def test_withdrawing_asks_first_and_cancel_changes_nothing(app, client, make_world, login_as):
    world = make_world(owner=True, title="Musrenbang Tematik Batik",
                       proposals=[{"business": "owner", "title": "Pelatihan pewarna alami"}])
    login_as(world.owner)
    pid = world.proposals[0]
    detail = client.get(f"/usulan/{pid}").get_data(as_text=True)
    assert f'href="/usulan/{pid}/tarik"' in detail  # a link to the question, not a button that withdraws
    page = client.get(f"/usulan/{pid}/tarik")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Tarik usulan ini?" in text
    assert "Pelatihan pewarna alami" in text and "Musrenbang Tematik Batik" in text and world.receipts[0] in text
    assert "dengan nomor tanda terima yang sama" in text
    assert f'href="/usulan/{pid}">Batal</a>' in text
    with app_db(app) as session:
        assert session.get(Proposal, pid).status is ProposalStatus.SUBMITTED  # asking changed nothing
    response = post_form(client, f"/usulan/{pid}/tarik", {}, token_from=f"/usulan/{pid}/tarik")
    assert response.status_code == 303
    with app_db(app) as session:
        assert session.get(Proposal, pid).status is ProposalStatus.WITHDRAWN
    # Asked again about a proposal that is no longer submitted: back to its page, with the reason.
    again = client.get(f"/usulan/{pid}/tarik")
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/usulan/{pid}")


def test_deleting_a_draft_asks_first(app, client, make_world, login_as):
    world = make_world(owner=True, proposals=[{"business": "owner", "title": "Draf pameran produk",
                                               "submit": False}])
    login_as(world.owner)
    pid = world.proposals[0]
    text = client.get(f"/usulan/{pid}/hapus").get_data(as_text=True)
    assert "Hapus draf ini?" in text and "Draf pameran produk" in text
    assert "dihapus untuk selamanya" in text and "Ya, hapus draf" in text
    with app_db(app) as session:
        assert session.get(Proposal, pid) is not None
    response = post_form(client, f"/usulan/{pid}/hapus", {}, token_from=f"/usulan/{pid}/hapus")
    assert response.status_code == 303 and response.headers["Location"].endswith("/usulan/")
    with app_db(app) as session:
        assert session.get(Proposal, pid) is None


def test_another_owner_cannot_open_the_confirmations(app, client, make_world, make_user, login_as):
    world = make_world(owner=True, proposals=[{"business": "owner", "title": "Usulan orang lain"},
                                              {"business": "owner", "title": "Draf orang lain", "submit": False}])
    login_as(make_user())
    assert client.get(f"/usulan/{world.proposals[0]}/tarik").status_code == 404
    assert client.get(f"/usulan/{world.proposals[1]}/hapus").status_code == 404
    assert client.get(f"/usulan/{world.proposals[0]}/tanda-terima").status_code == 404
    assert client.get(f"/usulan/{world.proposals[0]}/tanda-terima.pdf").status_code == 404


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_titles_and_posts_on_the_confirmations_and_the_receipt(app, client, make_world, login_as, name):
    # Stored as it came (the factory skips the form's cleaning): the worst case for the pages.
    value = HOSTILE[name].replace("\x00", "")[:200]
    value = value if value.strip() else f"Judul{value}"
    world = make_world(owner=True, proposals=[{"business": "owner", "title": value},
                                              {"business": "owner", "title": value, "submit": False}])
    login_as(world.owner)
    submitted, draft = world.proposals
    for path in (f"/usulan/{submitted}/tarik", f"/usulan/{draft}/hapus", f"/usulan/{submitted}/tanda-terima"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "<script>alert" not in response.get_data(as_text=True)
    # Stray fields posted with the confirmation change nothing about what it does.
    token = csrf_token(client, f"/usulan/{submitted}/tarik")
    response = client.post(f"/usulan/{submitted}/tarik", data={"csrf_token": token, "status": HOSTILE[name],
                                                               "proposal_id": HOSTILE[name]})
    assert not is_server_error(response) and response.status_code == 303
    response = client.post(f"/usulan/{submitted}/kirim-ulang", data={"csrf_token": token, "x": HOSTILE[name]})
    assert response.status_code == 303
    with app_db(app) as session:
        assert session.get(Proposal, submitted).status is ProposalStatus.SUBMITTED


# --- the receipt ----------------------------------------------------------------------------------------

@pytest.fixture
def receipt_world(app, make_world):
    world = make_world(facilitator=True, owner=True, title="Musrenbang Tematik IKM Kuliner",
                       proposals=[{"business": "owner", "title": "Mesin pengering kerupuk", "estimated_cost": 47_250_000}],
                       venue="Aula Bappeda")
    with app_db(app) as session:
        proposal = session.get(Proposal, world.proposals[0])
        proposal.submitted_at = datetime(2027, 2, 12, 2, 30)  # 09.30 in Jakarta
        proposal.themed_session.submission_closes_at = utcnow() + timedelta(days=7)
        session.commit()
    return world


def test_the_receipt_page_prints_what_the_owner_needs(app, client, receipt_world, login_as):
    world = receipt_world
    login_as(world.owner)
    detail = client.get(f"/usulan/{world.proposals[0]}").get_data(as_text=True)
    assert f'href="/usulan/{world.proposals[0]}/tanda-terima"' in detail
    response = client.get(f"/usulan/{world.proposals[0]}/tanda-terima")
    text = re.sub(r"\s+", " ", response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Tanda terima usulan" in text and world.receipts[0] in text
    assert "Jumat, 12 Februari 2027, 09.30 WIB" in text
    assert "Mesin pengering kerupuk" in text and "Musrenbang Tematik IKM Kuliner" in text
    assert "Rp47.250.000" in text and "Usaha" in text
    assert "Anda masih dapat mengubah atau menarik usulan ini" in text
    assert "<script>" not in text.replace('<script src="/static/js/app.js" defer></script>', "")


def test_staff_of_the_session_print_the_receipt_and_others_get_404(app, client, receipt_world, make_user, login_as):
    world = receipt_world
    path = f"/usulan/{world.proposals[0]}/tanda-terima"
    login_as(world.facilitator)
    assert client.get(path).status_code == 200
    client.post("/keluar", data={"csrf_token": csrf_token(client, "/")})
    login_as(make_user("planner"))  # a planner who does not work on this session
    assert client.get(path).status_code == 404
    assert client.get(path + ".pdf").status_code == 404


def test_no_receipt_for_a_draft_or_a_withdrawn_proposal(app, client, make_world, login_as):
    from participation.proposals import services

    world = make_world(owner=True, proposals=[{"business": "owner", "title": "Draf tanpa tanda terima",
                                               "submit": False},
                                              {"business": "owner", "title": "Usulan yang akan ditarik"}])
    with app_db(app) as session:
        services.withdraw_proposal(session.get(Proposal, world.proposals[1]), as_actor(session.get(User, world.owner)))
        session.commit()
    login_as(world.owner)
    for pid in world.proposals:
        assert client.get(f"/usulan/{pid}/tanda-terima").status_code == 404
        assert client.get(f"/usulan/{pid}/tanda-terima.pdf").status_code == 404


def test_the_receipt_pdf_carries_the_number_and_title_and_renders_to_an_image(app, client, receipt_world,
                                                                             login_as, backend):
    import pypdfium2
    from pypdf import PdfReader

    world = receipt_world
    login_as(world.owner)
    response = client.get(f"/usulan/{world.proposals[0]}/tanda-terima.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f'filename="tanda-terima-{world.receipts[0]}.pdf"' in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert len(reader.pages) == 1
    for expected in (world.receipts[0], "Mesin pengering kerupuk", "Tanda terima usulan",
                     "Rp47.250.000", "09.30 WIB", "Musrenbang Tematik IKM Kuliner"):
        assert expected.lower() in text.lower(), expected
    document = pypdfium2.PdfDocument(response.data)
    image = document[0].render(scale=1.5).to_pil()
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"receipt-pdf-{backend}.png"
    image.save(path)
    assert image.size[0] > 800 and image.getextrema() != ((255, 255), (255, 255), (255, 255))
